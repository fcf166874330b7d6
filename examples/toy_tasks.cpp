// toy_tasks — train the paper's toy bilinear models on pairwise boolean tasks and look at their
// interaction matrices (no dataset needed; a few seconds).
//
//   toy_tasks [--out DIR] [--ops and,or,xor] [--inputs 4] [--hidden 8] [--steps 1000]
//             [--lr 0.01] [--wd 0.001] [--sparsity 0.7] [--bias auto|on|off] [--seed 0]
//
// For each operation one model (left, right: n → hidden, head: hidden → n(n−1)/2 pairs) learns
// op(x_i, x_j) for every pair with MSE. stdout: the loss curve (one line every 100 steps, one
// column per operation), then a final JSON line with the final losses, how close each
// interaction matrix is to the exact one, and the report path. DIR gets toy_<op>.png (one
// interaction matrix per output), loss.svg and report.html (self-contained).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "bilin/bilin.hpp"
#include "bilin/interp/figures.hpp"
#include "bilin/interp/toy.hpp"
#include "bilin/train/toy_trainer.hpp"
#include "bilin/io/flags.hpp"
#include "bilin/io/html_report.hpp"
#include "bilin/io/json.hpp"
#include "bilin/linalg/eigh.hpp"

using namespace bilin;
using namespace bilin::interp;
using bilin::train::train_toy;

namespace {

const char* op_symbol(BoolOp op) {
  switch (op) {
    case BoolOp::And: return "∧";
    case BoolOp::Or: return "∨";
    case BoolOp::Xor: return "⊕";
    case BoolOp::Nand: return "NAND";
    case BoolOp::Nor: return "NOR";
    default: return "XNOR";
  }
}


// The run the flags ask for: one task per operation, each with its own config (bias per task).
struct Tasks {
  std::string out;
  std::vector<std::string> ops;
  std::vector<BoolOp> parsed;
  ToyConfig base;
  std::vector<ToyConfig> cfgs;
  std::vector<std::unique_ptr<ToyModel<float>>> models;
  std::vector<std::vector<double>> losses;
};

// Returns false after --help.
bool parse(int argc, char** argv, Tasks& tk, std::string& bias) {
  Flags f("toy_tasks", "Train the paper's toy bilinear models on pairwise boolean tasks and show their interaction matrices.");
  ToyConfig& base = tk.base;
  f.value("out", "toy_out", "output folder", "DIR")
      .value("ops", "and,or,xor", "tasks, from and,or,xor,nand,nor,xnor", "OP,OP,...")
      .value("inputs", std::to_string(base.n_inputs), "boolean inputs", "N")
      .value("hidden", std::to_string(base.n_hidden), "hidden units", "N")
      .value("steps", std::to_string(base.steps), "training steps", "N")
      .value("batch", std::to_string(base.batch), "batch size", "N")
      .value("lr", "0.01", "learning rate", "X")
      .value("wd", "0.001", "L2 weight decay", "X")
      .value("sparsity", "0.7", "probability of an input being 0", "X")
      .value("bias", "auto", "auto (on for nand, nor, xnor) | on | off", "MODE")
      .value("seed", "0", "random seed", "N");
  if (!f.parse(argc, argv)) return false;
  tk.out = f.str("out");
  bias = f.choice("bias", {"auto", "on", "off"});
  tk.ops = f.list("ops");
  base.n_inputs = f.integer("inputs");
  base.n_hidden = f.integer("hidden");
  base.steps = f.integer("steps");
  base.batch = f.integer("batch");
  base.lr = f.real("lr");
  base.weight_decay = f.real("wd");
  base.sparsity = f.real("sparsity");
  base.seed = static_cast<std::uint64_t>(f.integer("seed"));
  BILIN_CHECK(!tk.ops.empty(), "toy_tasks", "--ops is empty");
  for (const auto& o : tk.ops) tk.parsed.push_back(parse_bool_op(o));
  base.validate();
  return true;
}

void train_tasks(Tasks& tk, const std::string& bias) {
  for (BoolOp op : tk.parsed) {
    ToyConfig c = tk.base;
    c.operation = {{op, 1.0}};
    // NAND/NOR/XNOR contain the constant 1, which needs a bias (a constant input) to be exact.
    c.bias = bias == "on" || (bias == "auto" && (op == BoolOp::Nand || op == BoolOp::Nor || op == BoolOp::Xnor));
    Generator gen(c.seed);
    tk.models.push_back(std::make_unique<ToyModel<float>>(c, gen));
    tk.losses.push_back(train_toy(*tk.models.back(), c));
    tk.cfgs.push_back(c);
  }
}

// The loss curve on stdout: every 100th step and the last, one column per task.
void print_losses(const Tasks& tk) {
  std::printf("%8s", "step");
  for (const auto& o : tk.ops) std::printf(" %12s", o.c_str());
  std::printf("\n");
  for (index_t s = 0; s < tk.base.steps; ++s)
    if (s % 100 == 0 || s + 1 == tk.base.steps) {
      std::printf("%8lld", static_cast<long long>(s + 1));
      for (const auto& l : tk.losses) std::printf(" %12.6f", l[s]);
      std::printf("\n");
    }
}

io::HtmlReport report_intro(const Tasks& tk) {
  const ToyConfig& base = tk.base;
  const index_t n = base.n_inputs;
  io::HtmlReport rep("Toy tasks: boolean functions of every pair, read off the weights",
                     std::to_string(n) + " boolean inputs (each 1 with probability " +
                         fmt_num(1 - base.sparsity, 3) + "), one output per pair, one bilinear layer with " +
                         std::to_string(base.n_hidden) + " hidden units, MSE, " + std::to_string(base.steps) +
                         " Adam steps.");
  rep.section("What the pictures show");
  rep.paragraph(
      "Each output c of a bilinear MLP is exactly xᵀ Q_c x with the symmetric interaction matrix "
      "Q_c = ½ Σ_o head[c,o](l_o r_oᵀ + r_o l_oᵀ). On boolean inputs x_i² = x_i, so the diagonal acts like a "
      "linear term and the off-diagonal entries are the pairwise interactions. Exact targets: AND(x_i, x_j) = "
      "x_i x_j has only the cross term Q[i,j] = ½ and no self-interaction; OR = x_i + x_j − x_i x_j has diagonal 1 "
      "and cross −½; XOR = x_i + x_j − 2 x_i x_j has diagonal 1 and cross −1. Red positive, blue negative, white 0; "
      "all matrices of one task share one symmetric colour scale.");

  io::Plot lp;
  lp.title("Training loss (MSE)").xlabel("step").ylabel("loss (log scale)").logy().size(640, 380);
  for (std::size_t t = 0; t < tk.parsed.size(); ++t) {
    io::Series s;
    s.name = tk.ops[t];
    s.markers = false;
    s.width = 1.5;
    for (index_t k = 0; k < base.steps; k += std::max<index_t>(1, base.steps / 200))
      s.x.push_back(static_cast<double>(k + 1)), s.y.push_back(tk.losses[t][k]);
    lp.add(s);
  }
  lp.write(tk.out + "/loss.svg");
  rep.svg(lp, "Loss per step for each task (a fresh random batch every step).");

  return rep;
}

// Task t's section: its interaction matrices against the exact ones, and their picture file.
json::Value report_task(io::HtmlReport& rep, const Tasks& tk, std::size_t t) {
  const index_t n = tk.base.n_inputs;
  const auto pairs = tk.base.pairs();
  const auto& ops = tk.ops;
  const auto& cfgs = tk.cfgs;
  const auto& losses = tk.losses;
  const std::string& out = tk.out;
  const BoolOp op = tk.parsed[t];
  const TensorF B = interactions(*tk.models[t]);
  const index_t C = B.size(0), m = B.size(1);
  double scale = 0, max_err = 0;
  for (index_t k = 0; k < B.numel(); ++k) scale = std::max(scale, std::fabs(static_cast<double>(B.data()[k])));
  rep.section(std::string("Task: ") + ops[t] + (cfgs[t].bias ? " (with bias: last row/column = constant input)" : ""));
  std::vector<io::Tile> matrices;
  std::vector<float> tiles;
  for (index_t c = 0; c < C; ++c) {
    std::vector<double> q(B.data() + c * m * m, B.data() + (c + 1) * m * m);
    tiles.insert(tiles.end(), q.begin(), q.end());
    const auto [i, j] = pairs[c];
    const auto ideal = ideal_interaction(op, n, i, j);
    // On booleans x_a² = x_a, so with a constant input the diagonal and the linear terms (row m−1) alias:
    // compare the cross terms and the effective linear coefficient Q[a,a] + 2·Q[a,const].
    for (index_t a = 0; a < n; ++a)
      for (index_t b = 0; b < n; ++b) {
        const double got = q[a * m + b] + (a == b && m > n ? 2 * q[a * m + n] : 0.0);
        max_err = std::max(max_err, std::fabs(got - ideal[a * n + b]));
      }
    const auto eg = linalg::eigh(TensorD::from_vector(q, {m, m}));
    std::string ev;
    for (index_t e = 0; e < m; ++e)
      if (std::fabs(eg.values.data()[e]) > 0.05 * scale) ev += (ev.empty() ? "" : ", ") + fmt_num(eg.values.data()[e], 2);
    matrices.push_back({matrix_image(q, static_cast<int>(m), 22, scale), 120,
                        "x" + std::to_string(i) + " " + op_symbol(op) + " x" + std::to_string(j) + "  λ: " + ev});
  }
  rep.tile_strip(matrices);
  rep.paragraph("Largest deviation from the exact interaction matrix (cross terms, and diagonal + linear terms, "
                "which coincide on boolean inputs): " +
                fmt_num(max_err, 3) + " (final loss " + fmt_num(losses[t].back(), 3) + "). Eigenvalues above 5% "
                "of the colour scale are listed under each matrix" +
                (op == BoolOp::And ? ": AND is rank 2, λ = ±½, since x_i·x_j = ¼(x_i+x_j)² − ¼(x_i−x_j)²."
                                   : "."));
  io::GridOptions go;
  go.cols = static_cast<int>(C);
  go.upscale = 22;
  go.pad = 4;
  go.vmax = scale;
  io::write_png(out + "/toy_" + ops[t] + ".png", io::image_grid(tiles.data(), static_cast<int>(C), static_cast<int>(m),
                                                               static_cast<int>(m), go));
  json::Value jo = json::Value::object();
  jo["final_loss"] = losses[t].back();
  jo["max_abs_err_vs_exact"] = max_err;
  jo["bias"] = cfgs[t].bias;
  jo["picture"] = out + "/toy_" + ops[t] + ".png";
  return jo;
}

}  // namespace

int main(int argc, char** argv) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    Tasks tk;
    std::string bias;
    if (!parse(argc, argv, tk, bias)) return 0;
    std::filesystem::create_directories(tk.out);
    train_tasks(tk, bias);
    print_losses(tk);
    io::HtmlReport rep = report_intro(tk);
    json::Value summary = json::Value::object();
    json::Value jops = json::Value::object();
    for (std::size_t t = 0; t < tk.parsed.size(); ++t) jops[tk.ops[t]] = report_task(rep, tk, t);
    const std::string report = tk.out + "/report.html";
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rep.footer("Generated by bilin toy_tasks in " + fmt_num(seconds, 3) + " s.");
    rep.write(report);
    summary["tasks"] = jops;
    summary["inputs"] = tk.base.n_inputs;
    summary["hidden"] = tk.base.n_hidden;
    summary["steps"] = tk.base.steps;
    summary["seconds"] = seconds;
    summary["report"] = report;
    std::cout << summary.dump() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "toy_tasks: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
