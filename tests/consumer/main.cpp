// Builds against the installed headers and checks one gradient of a bilinear form.
#include <bilin/bilin.hpp>
#include <cstdio>

int main() {
  using namespace bilin;
  auto x = TensorD::from({1.0, 2.0}).requires_grad_();
  auto w = TensorD::from({{1.0, 0.5}, {0.0, 1.0}});
  auto v = TensorD::from({{2.0, 0.0}, {1.0, 1.0}});
  auto y = sum(matmul(w, x) * matmul(v, x));  // (Wx)·(Vx)
  y.backward();
  // d/dx (Wx)ᵀ(Vx) = Wᵀ(Vx) + Vᵀ(Wx): Wx = [2, 2], Vx = [2, 3] → [1·2+0·3, 0.5·2+1·3] + [2·2+1·2, 0·2+1·2]
  const auto g = x.grad().to_vector();
  const bool ok = y.item() == 10.0 && g[0] == 8.0 && g[1] == 6.0;
  std::printf("consumer: y=%g grad=[%g, %g] %s\n", y.item(), g[0], g[1], ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
