// Fixed-size latency histogram shared by the benchmark tools (tests/bench).
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

namespace cg::bench {

// Log-linear latency histogram (nanoseconds): exact below 256 ns, then 128 sub-buckets per
// power of two (< 0.8 % relative error). Fixed size, so memory stays flat for any run length.
class Histogram {
 public:
  static constexpr int kSub = 128;
  static constexpr int kBuckets = 256 + 56 * kSub;

  Histogram() : counts_(kBuckets, 0) {}

  void record(std::uint64_t ns) {
    ++counts_[index(ns)];
    ++total_;
    max_ = std::max(max_, ns);
    sum_ += ns;
  }
  void merge(const Histogram& o) {
    for (int i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    max_ = std::max(max_, o.max_);
    sum_ += o.sum_;
  }
  std::uint64_t total() const { return total_; }
  std::uint64_t max() const { return max_; }
  double mean() const { return total_ ? double(sum_) / double(total_) : 0.0; }

  // Upper bound of the bucket holding the q-quantile.
  std::uint64_t quantile(double q) const {
    if (total_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * double(total_));
    if (rank >= total_) rank = total_ - 1;
    std::uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen > rank) return std::min(upper(i), max_);
    }
    return max_;
  }

 private:
  static int index(std::uint64_t v) {
    if (v < 256) return int(v);
    const int e = 63 - std::countl_zero(v);  // >= 8
    const int shift = e - 7;
    const int mant = int(v >> shift);  // 128..255
    return 256 + (e - 8) * kSub + (mant - kSub);
  }
  static std::uint64_t upper(int i) {
    if (i < 256) return std::uint64_t(i);
    const int e = (i - 256) / kSub + 8;
    const int mant = (i - 256) % kSub + kSub;
    const int shift = e - 7;
    return ((std::uint64_t(mant) + 1) << shift) - 1;
  }

  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t sum_ = 0;
};

}  // namespace cg::bench
