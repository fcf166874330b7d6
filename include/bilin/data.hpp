// bilin/data.hpp — datasets: reading, batching, augmenting, tokenizing.
//
// Contract: includes data/ (IDX files such as MNIST and Fashion-MNIST, raw or gzip; the batch
// loader and its input-noise augmentation; text corpora, the byte-level BPE and character
// tokenizers and their token caches; Hugging Face WordPiece tokenizer.json files). Pulls in
// core/, kernels/ (the SIMD target for the noise), io/atomic_file.hpp (caches are written
// atomically) and io/json.hpp (tokenizer.json), plus zlib: no autodiff, no stb.
#pragma once

#include "data/augment.hpp"
#include "data/bpe.hpp"
#include "data/casper.hpp"
#include "data/char_tokenizer.hpp"
#include "data/hf_tokenizer.hpp"
#include "data/idx.hpp"
#include "data/loader.hpp"
#include "data/text.hpp"
#include "data/token_cache.hpp"
