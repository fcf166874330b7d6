// The README's bilinear-layer example written with Eigen instead of bilin, the peer program of
// bench/compile_time.sh: the same forward pass (matmuls, elementwise product, cross-entropy) with
// its gradient written out by hand, since Eigen has no autodiff. Only its compile time is of
// interest; it is compiled, never run by CI.
#include <Eigen/Dense>
#include <iostream>
#include <random>

int main() {
  using M = Eigen::MatrixXf;
  std::mt19937 rng(42);
  std::normal_distribution<float> n01(0.0f, 1.0f), n025(0.0f, 0.25f);
  auto randn = [&](int r, int c, std::normal_distribution<float>& d) {
    return M(M::NullaryExpr(r, c, [&]() { return d(rng); }));
  };
  M x = randn(8, 16, n01), W = randn(32, 16, n025), V = randn(32, 16, n025), P = randn(10, 32, n025);
  Eigen::VectorXi labels(8);
  labels << 0, 1, 2, 3, 4, 5, 6, 7;
  M a = x * W.transpose(), b = x * V.transpose();
  M h = a.cwiseProduct(b);                               // (Wx) ⊙ (Vx)
  M logits = h * P.transpose();
  M prob = (logits.colwise() - logits.rowwise().maxCoeff()).array().exp().matrix();
  prob = prob.array().colwise() / prob.rowwise().sum().array();
  float loss = 0;
  for (int i = 0; i < 8; ++i) loss -= std::log(prob(i, labels(i))) / 8;
  M dlogits = prob;                                      // d loss / d logits = (softmax - onehot) / N
  for (int i = 0; i < 8; ++i) dlogits(i, labels(i)) -= 1;
  dlogits /= 8;
  M dP = dlogits.transpose() * h, dh = dlogits * P;
  M dW = (dh.cwiseProduct(b)).transpose() * x, dV = (dh.cwiseProduct(a)).transpose() * x;
  std::cout << "loss " << loss << ", dloss/dW has shape [" << dW.rows() << ", " << dW.cols() << "] "
            << dV.norm() + dP.norm() << "\n";
}
