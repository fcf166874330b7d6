// bilin/core/buffer_pool.hpp — keeps large freed tensor buffers for reuse.
//
// Why: a training step frees and allocates the same large activation and gradient buffers
// every step. From malloc those come as fresh mappings that the kernel must fault in and zero
// page by page (huge pages included), which costs a step a varying, sometimes large, share of
// its time. Reusing the freed blocks removes that cost and makes step times steady.
//
// Contract:
// - BufferPool(cap_bytes): acquire(bytes) returns a 64-byte aligned block of at least `bytes`
//   bytes and sets *capacity to its real size; release(p, capacity) takes it back. Contents of
//   an acquired block are unspecified (a reused block holds old data).
// - Blocks of at least min_bytes (256 KiB; smaller ones are cheap for malloc) are rounded up to
//   whole 4 KiB pages and, when released, kept while the kept total stays within cap_bytes; a
//   later acquire of the same rounded size gets one back (the most recently released). When a
//   release would pass the cap, the least recently released blocks are freed first; a block
//   larger than the cap is never kept. cap_bytes = 0 keeps nothing (plain aligned_alloc/free).
// - Thread safe (one mutex): tensors are freed on whichever thread drops the last handle.
// - buffer_pool() is the process-wide pool that tensor storage uses. Its cap is
//   BILIN_BUFFER_CACHE_MB from the environment (0 turns it off; a value that is not a whole
//   number is an error naming the variable), else a quarter of physical memory; under
//   AddressSanitizer it defaults to 0, so use-after-free of a tensor buffer is still reported.
//   trim() frees every kept block (e.g. before a long phase that needs the memory elsewhere).
// - Out of memory: acquire throws std::bad_alloc after first freeing the kept blocks and
//   retrying once.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <list>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include <unistd.h>

#include "error.hpp"

namespace bilin {

class BufferPool {
 public:
  static constexpr std::size_t kAlign = 64, kPage = 4096, min_bytes = std::size_t(256) << 10;

  struct Stats {
    std::size_t hits = 0, misses = 0;  // acquires of poolable size served from / not from the pool
    std::size_t kept_bytes = 0, kept_blocks = 0;
  };

  explicit BufferPool(std::size_t cap_bytes) : cap_(cap_bytes) {}
  ~BufferPool() { trim(); }
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  void* acquire(std::size_t bytes, std::size_t* capacity) {
    const std::size_t size = rounded(bytes);
    if (poolable(size)) {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = by_size_.find(size); it != by_size_.end() && !it->second.empty()) {
        const auto entry = it->second.back();
        it->second.pop_back();
        void* p = entry->ptr;
        lru_.erase(entry);
        kept_ -= size;
        ++stats_.hits;
        *capacity = size;
        return p;
      }
      ++stats_.misses;
    }
    void* p = std::aligned_alloc(kAlign, size);
    if (!p) {
      trim();
      p = std::aligned_alloc(kAlign, size);
      if (!p) throw std::bad_alloc();
    }
    *capacity = size;
    return p;
  }

  void release(void* p, std::size_t capacity) noexcept {
    if (!p) return;
    if (!poolable(capacity) || capacity > cap_) {
      std::free(p);
      return;
    }
    std::vector<void*> drop;
    {
      std::lock_guard<std::mutex> lock(mu_);
      while (kept_ + capacity > cap_ && !lru_.empty()) {
        const Entry old = lru_.back();
        auto& v = by_size_[old.size];
        for (std::size_t i = 0; i < v.size(); ++i)
          if (v[i]->ptr == old.ptr) {
            v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
            break;
          }
        lru_.pop_back();
        kept_ -= old.size;
        drop.push_back(old.ptr);
      }
      try {  // no memory for the bookkeeping: free the block instead of keeping it
        lru_.push_front(Entry{p, capacity});
        try {
          by_size_[capacity].push_back(lru_.begin());
        } catch (...) {
          lru_.pop_front();
          throw;
        }
        kept_ += capacity;
        p = nullptr;
      } catch (...) {
      }
    }
    std::free(p);
    for (void* q : drop) std::free(q);
  }

  // Frees every kept block.
  void trim() noexcept {
    std::list<Entry> all;
    {
      std::lock_guard<std::mutex> lock(mu_);
      all.swap(lru_);
      by_size_.clear();
      kept_ = 0;
    }
    for (const Entry& e : all) std::free(e.ptr);
  }

  Stats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    Stats s = stats_;
    s.kept_bytes = kept_;
    s.kept_blocks = lru_.size();
    return s;
  }

  std::size_t cap_bytes() const { return cap_; }

  static std::size_t rounded(std::size_t bytes) {
    const std::size_t b = bytes < kAlign ? kAlign : bytes;
    return b >= min_bytes ? (b + kPage - 1) / kPage * kPage : (b + kAlign - 1) / kAlign * kAlign;
  }

 private:
  struct Entry {
    void* ptr;
    std::size_t size;
  };

  bool poolable(std::size_t size) const { return cap_ > 0 && size >= min_bytes; }

  std::size_t cap_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // front: most recently released
  std::unordered_map<std::size_t, std::vector<std::list<Entry>::iterator>> by_size_;
  std::size_t kept_ = 0;
  Stats stats_;
};

namespace buffer_pool_detail {

constexpr bool under_asan() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

// The default cap: BILIN_BUFFER_CACHE_MB, else a quarter of physical memory (0 under ASan).
inline std::size_t default_cap() {
  if (const char* env = std::getenv("BILIN_BUFFER_CACHE_MB"); env && *env) {
    const std::string v = env;
    BILIN_CHECK(v.size() <= 12 && v.find_first_not_of("0123456789") == std::string::npos, "buffer_pool",
                "BILIN_BUFFER_CACHE_MB='", v, "' is not a whole number of MiB");
    return static_cast<std::size_t>(std::stoull(v)) << 20;
  }
  if (under_asan()) return 0;
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) / 4 : 0;
}

}  // namespace buffer_pool_detail

// The process-wide pool behind tensor storage. Never destroyed: tensors in static objects may
// be freed after any other static, and the kept blocks go back to the OS with the process.
inline BufferPool& buffer_pool() {
  static BufferPool* pool = new BufferPool(buffer_pool_detail::default_cap());
  return *pool;
}

}  // namespace bilin
