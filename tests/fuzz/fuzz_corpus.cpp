// tests/fuzz/fuzz_corpus.cpp — writes the seed corpora (BILIN_FUZZ_MAKE_CORPUS=<dir> bilin_fuzz):
// small real files made by bilin itself (its writers, tiny models) plus a few hand-made files
// in formats bilin only reads (F16/BF16 safetensors, BMP/PGM/GIF/JPEG pictures). Deterministic,
// so regenerating gives the committed files; tests/fuzz/make_corpus.sh runs it.
#include <filesystem>

#include "bilin/data/bpe.hpp"
#include "bilin/data/char_tokenizer.hpp"
#include "bilin/data/idx.hpp"
#include "bilin/data/token_cache.hpp"
#include "bilin/io/png.hpp"
#include "bilin/io/safetensors.hpp"
#include "bilin/nn/transformer.hpp"
#include "bilin/train/classifier_trainer.hpp"
#include "bilin/train/sae_file.hpp"

#include "fuzz_common.hpp"
#include "fuzz_seeds.hpp"
#include "fuzz_tiny_models.hpp"

using namespace bilin;
namespace fs = std::filesystem;

namespace bilin_fuzz {

namespace {

void put(const fs::path& dir, const std::string& name, std::string_view bytes) {
  fs::create_directories(dir);
  io::write_file_atomic((dir / name).string(), bytes);
}
std::string bytes_of(const std::vector<std::uint8_t>& v) { return std::string(v.begin(), v.end()); }

template <class T>
Tensor<T> ramp(Shape s, double scale) {
  auto t = Tensor<T>::empty(s);
  for (index_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<T>(static_cast<double>((i * 7) % 13) * scale - (std::is_signed_v<T> ? 3 : 0));
  return t;
}

std::string raw_safetensors(const std::string& header, std::string_view data) {
  std::string h = header;
  while ((8 + h.size()) % 8) h += ' ';
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((h.size() >> (8 * i)) & 0xFF);
  return out + h + std::string(data);
}

}  // namespace

void make_corpus(const std::string& root_dir) {
  const fs::path root(root_dir);
  for (const char* d : {"idx", "safetensors", "json", "bpe_file", "char_file", "hf_tokenizer", "token_cache", "image",
                        "text", "checkpoint"})
    fs::create_directories(root / d);
  // ---- idx
  {
    std::vector<std::uint8_t> px(3 * 4 * 5);
    for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>(i * 11);
    const std::string img = data::encode_idx({3, 4, 5}, px.data());
    const std::uint8_t lab[6] = {0, 1, 2, 9, 4, 7};
    const std::string labels = data::encode_idx({6}, lab);
    const std::string four = data::encode_idx({2, 1, 3, 2}, px.data());
    put(root / "idx", "images-3x4x5", img);
    put(root / "idx", "labels-6", labels);
    put(root / "idx", "4d", four);
    put(root / "idx", "images-3x4x5.gz", data::gzip_bytes(img));
    put(root / "idx", "labels-6.gz", data::gzip_bytes(labels));
    put(root / "idx", "empty-0x28x28", data::encode_idx({0, 28, 28}, px.data()));
  }
  // ---- safetensors
  {
    const std::map<std::string, std::string> meta{{"format", "bilin-checkpoint-v1"}, {"note", "seed"}};
    std::vector<std::pair<std::string, io::AnyTensor>> all{
        {"f32", ramp<float>({2, 3}, 0.5)},       {"f64", ramp<double>({3}, 0.25)},
        {"i64", ramp<std::int64_t>({2, 2}, 1)},  {"i32", ramp<std::int32_t>({4}, 1)},
        {"u16", ramp<std::uint16_t>({2}, 2)},    {"u8", ramp<std::uint8_t>({1, 3}, 1)},
        {"empty", Tensor<float>::empty({0, 4})}, {"scalar", Tensor<float>::from_vector({1.5f}, Shape{})}};
    io::save_safetensors((root / "safetensors" / "native.safetensors").string(), all, meta);
    io::save_safetensors((root / "safetensors" / "one.safetensors").string(), {{"w", ramp<float>({2}, 1)}});
    std::string d16(12, '\0');
    for (std::size_t i = 0; i < d16.size(); ++i) d16[i] = static_cast<char>(0x3c + i * 3);
    put(root / "safetensors", "halves.safetensors",
        raw_safetensors(R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},"z":{"dtype":"BOOL","shape":[2],"data_offsets":[8,10]},"s":{"dtype":"I8","shape":[2],"data_offsets":[10,12]}})",
                        d16));
    put(root / "safetensors", "wide.safetensors",
        raw_safetensors(R"({"__metadata__":{"k":"v"},"u":{"dtype":"U64","shape":[1],"data_offsets":[0,8]},"t":{"dtype":"I16","shape":[2],"data_offsets":[8,12]},"v":{"dtype":"U32","shape":[1],"data_offsets":[12,16]}})",
                        std::string("\x01\0\0\0\0\0\0\0\xff\x7f\0\x80\x05\0\0\0", 16)));
  }
  // ---- json
  {
    put(root / "json", "config.json",
        R"({"d_model": 64, "n_layer": 2, "bias": false, "lr": 1e-3, "name": "ts-4096", "layers": [1, 2.5, -3e-7, null], "nested": {"a": {"b": []}}})");
    put(root / "json", "escapes.json", R"(["\u00e9\ud83d\ude00\n\t\"\\\/", "caf\u00e9", 9223372036854775807, -9223372036854775808, 1.7976931348623157e308, 5e-324])");
    put(root / "json", "metrics.jsonl", R"({"epoch": 1, "train_loss": 0.31415926535897931, "acc": 0.9})");
  }
  // ---- tokenizer files
  const std::string text = sample_text();
  {
    data::BpeTrainOptions o;
    o.vocab_size = 300;
    o.min_pair_count = 1;
    o.special_tokens = {"<|endoftext|>", "<pad>"};
    const auto bpe = data::BpeTokenizer::train(text, o);
    put(root / "bpe_file", "trained.bpe", bpe.serialize());
    put(root / "bpe_file", "commented.bpe",
        "bilin-bpe 1\n# comment\npretokenizer bilin-v1\nvocab_size 259\nmerges 2\nspecials 1\n32 116\n256 104\n"
        "special %3C|endoftext|%3E\nend\n");
    put(root / "bpe_file", "bytes-only.bpe", data::BpeTokenizer().serialize());
    put(root / "char_file", "shakespeare.char", data::CharTokenizer::fit("First Citizen:\nBefore we proceed, hear me speak.").serialize());
    put(root / "char_file", "all-bytes.char", data::CharTokenizer::fit(text).serialize());
    put(root / "hf_tokenizer", "ts-like.json", sample_hf_json(false));
    put(root / "hf_tokenizer", "bert-like.json", sample_hf_json(true));
  }
  // ---- token caches
  {
    std::vector<data::token_t> ids{0, 5, 17, 299, 3, 3, 1};
    data::write_token_cache((root / "token_cache" / "small16.tok").string(), ids, 300);
    data::write_token_cache((root / "token_cache" / "wide32.tok").string(), ids, 70000);
    data::write_token_cache((root / "token_cache" / "empty.tok").string(), {}, 5);
  }
  // ---- images
  {
    io::Image rgb(6, 5, 3), gray(7, 4, 1), rgba(3, 3, 4), ga(4, 2, 2);
    for (io::Image* im : {&rgb, &gray, &rgba, &ga})
      for (std::size_t i = 0; i < im->pixels.size(); ++i) im->pixels[i] = static_cast<std::uint8_t>((i * 29) % 256);
    put(root / "image", "rgb.png", bytes_of(io::encode_png(rgb)));
    put(root / "image", "gray.png", bytes_of(io::encode_png(gray)));
    put(root / "image", "rgba.png", bytes_of(io::encode_png(rgba)));
    put(root / "image", "gray-alpha.png", bytes_of(io::encode_png(ga)));
    std::string out;
    const auto sink = [](void* ctx, void* data, int size) {
      static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
    };
    stbi_write_bmp_to_func(sink, &out, rgb.width, rgb.height, 3, rgb.pixels.data());
    put(root / "image", "rgb.bmp", out);
    out.clear();
    stbi_write_jpg_to_func(sink, &out, rgb.width, rgb.height, 3, rgb.pixels.data(), 80);
    put(root / "image", "rgb.jpg", out);
    out.clear();
    stbi_write_tga_to_func(sink, &out, gray.width, gray.height, 1, gray.pixels.data());
    put(root / "image", "not-supported.tga", out);
    put(root / "image", "digit.pgm", "P5 4 3 255\n" + std::string(reinterpret_cast<const char*>(gray.pixels.data()), 12));
    // the classic 1x1 GIF
    put(root / "image", "pixel.gif",
        std::string("GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff!\xf9\x04\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;", 43));
  }
  // ---- text
  put(root / "text", "sample.txt", text);
  put(root / "text", "stories.txt", "A story.\n<|endoftext|>\n\n  Another one.  \n<|endoftext|>\ntail");
  // ---- checkpoints: what train_mnist --resume and train_sae read, from tiny models
  {
    const auto trainer = tiny_trainer();
    trainer->step();
    trainer->save((root / "checkpoint" / "mnist-resume.safetensors").string());
    trainer->save_model((root / "checkpoint" / "mnist-model.safetensors").string());
    Generator gen(1);
    nn::TopKSAE<float> sae(nn::SaeConfig{4, 8, 2, false}, gen);
    train::SaeInfo info;
    info.layer = 1;
    train::save_sae((root / "checkpoint" / "sae.safetensors").string(), sae, info);
    nn::TransformerConfig tc;
    io::save_safetensors((root / "checkpoint" / "lm-config.safetensors").string(), {{"x", ramp<float>({1}, 1)}},
                         {{"model_config", tc.to_json()}, {"model_crc32", "0"}});
  }
}

}  // namespace bilin_fuzz
