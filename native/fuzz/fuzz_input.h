// Shared by the libFuzzer harnesses in this directory (scripts/fuzz.js builds and runs them).
//
// FuzzInput turns the fuzzer's bytes into shapes and series: doubles and floats biased towards
// the values that break numeric kernels (NaN with any payload, +-Inf, -0, subnormals, the largest
// finite values, values that round to infinity as float32, exact small integers that make flat
// runs, prices far from zero) next to raw bit patterns. Series come from a few generators (element
// by element, a small palette, a random walk, a constant with sparse specials) so a short input
// can still make a long row. When the bytes run out every read returns zeros: decoding never fails.
//
// GuardedBuffer places a series at an element offset inside its own heap block whose end is the
// end of the data, and poisons the bytes before it, so AddressSanitizer reports any read or write
// before or after the view (the AVX2 paths use unaligned loads; the offset varies the alignment
// of the view's start modulo 32 bytes). Offsets are whole elements because that is all a
// Float32Array / Float64Array can be (a byte offset that is not a multiple of the element size
// throws in JS), and a misaligned double* would be undefined behaviour that UBSan reports.
//
// Check(cond, fmt, ...) prints the mismatch and aborts: libFuzzer then saves the reproducer.
#pragma once
#include <cfloat>
#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <type_traits>

#include "../kernels/cpu.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define TG_FUZZ_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define TG_FUZZ_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#endif
#endif
#ifndef TG_FUZZ_POISON
#define TG_FUZZ_POISON(p, n) ((void)(p), (void)(n))
#define TG_FUZZ_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace tg::fuzz {

[[noreturn]] inline void Fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
inline void Fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fprintf(stderr, "\n==TG-FUZZ== MISMATCH: ");
  std::vfprintf(stderr, fmt, ap);
  std::fprintf(stderr, "\n");
  va_end(ap);
  std::fflush(stderr);
  std::abort();
}

#define TG_CHECK(cond, ...)                                                                 \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "\n==TG-FUZZ== %s:%d: check failed: %s", __FILE__, __LINE__, #cond); \
      ::tg::fuzz::Fail(__VA_ARGS__);                                                        \
    }                                                                                       \
  } while (0)

inline uint64_t Bits(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}
inline uint32_t Bits(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}
template <typename T>
inline bool SameBits(T a, T b) {
  return Bits(a) == Bits(b);
}

// Whether to compare the AVX2 path with the scalar path (the CPU can run it). Said once.
inline bool Avx2Available() {
  static const bool has = [] {
    bool h = false;
#if defined(__x86_64__) || defined(_M_X64)
    h = tg::kernels::CpuHasAvx2Fma();
#endif
    if (!h) std::fprintf(stderr, "==TG-FUZZ== this CPU has no AVX2+FMA: only the scalar path and invariants are checked\n");
    return h;
  }();
  return has;
}

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : p_(data), n_(size) {}

  size_t remaining() const { return n_; }

  // The next `len` bytes (at most what is left) as an input of their own, for a second series
  // that must not starve the first: FillSeries may use every byte it is given.
  FuzzInput Split(size_t len) {
    if (len > n_) len = n_;
    FuzzInput sub(p_, len);
    p_ += len;
    n_ -= len;
    return sub;
  }

  uint8_t U8() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  uint16_t U16() { return static_cast<uint16_t>(U8() | (U8() << 8)); }
  uint32_t U32() { return static_cast<uint32_t>(U16()) | (static_cast<uint32_t>(U16()) << 16); }
  uint64_t U64() { return static_cast<uint64_t>(U32()) | (static_cast<uint64_t>(U32()) << 32); }
  bool Bool() { return U8() & 1; }

  // An integer in [lo, hi], small values more likely (so short inputs stay short).
  size_t Range(size_t lo, size_t hi) {
    if (hi <= lo) return lo;
    const size_t span = hi - lo + 1;
    const uint8_t sel = U8();
    uint32_t r;
    if (sel < 128) r = U8();        // 0..255
    else if (sel < 224) r = U16();  // 0..65535
    else r = U32();
    return lo + static_cast<size_t>(r % span);
  }

  template <typename T>
  T Value();

  // Fills x[0..n) with one of the generators.
  template <typename T>
  void FillSeries(T* x, size_t n);

 private:
  const uint8_t* p_;
  size_t n_;
};

// Values that break numeric kernels, as doubles.
inline double SpecialDouble(unsigned i) {
  const double inf = std::numeric_limits<double>::infinity();
  double nanPayload, negNaN;
  uint64_t b = 0x7ff8000000000123ULL;  // quiet NaN with a payload
  std::memcpy(&nanPayload, &b, sizeof b);
  b = 0xfff8000000000000ULL;  // -NaN (the default NaN x86 produces)
  std::memcpy(&negNaN, &b, sizeof b);
  static const double table[32] = {
      0.0,
      -0.0,
      1.0,
      -1.0,
      std::numeric_limits<double>::quiet_NaN(),
      0,  // nanPayload
      0,  // negNaN
      inf,
      -inf,
      std::numeric_limits<double>::denorm_min(),
      -std::numeric_limits<double>::denorm_min(),
      DBL_MIN,
      DBL_MAX,
      -DBL_MAX,
      1e308,
      -1e308,
      1e-130,  // the scan's tiny-magnitude threshold
      1e-300,
      FLT_MAX,
      -FLT_MAX,
      3.4028235677973366e38,  // rounds to FLT_MAX as float32
      3.4028235677973367e38,  // rounds to +Inf as float32
      FLT_MIN,
      1.401298464324817e-45,  // float32 denorm_min
      7.0e-46,                // rounds to 0 or the float denorm_min
      16777217.0,             // 2^24 + 1: not a float32
      9007199254740993.0,     // 2^53 + 1: not a double (rounds)
      0.1,
      100.0,
      1e5,
      65000.123,
      1e-5,
  };
  i %= 32;
  if (i == 5) return nanPayload;
  if (i == 6) return negNaN;
  return table[i];
}

inline float SpecialFloat(unsigned i) {
  i %= 32;
  switch (i) {
    case 5: {
      float f;
      uint32_t b = 0x7fc00123u;
      std::memcpy(&f, &b, sizeof f);
      return f;
    }
    case 6: {
      float f;
      uint32_t b = 0xffc00000u;
      std::memcpy(&f, &b, sizeof f);
      return f;
    }
    case 9: return std::numeric_limits<float>::denorm_min();
    case 10: return -std::numeric_limits<float>::denorm_min();
    case 11: return FLT_MIN;
    case 12: return FLT_MAX;
    case 13: return -FLT_MAX;
    case 14: return 1e38f;
    case 15: return -1e38f;
    case 16: return 1e-30f;
    case 17: return 1.1754942e-38f;  // the largest float32 subnormal
    default: return static_cast<float>(SpecialDouble(i));
  }
}

template <typename T>
T FuzzInput::Value() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  const uint8_t kind = U8();
  if (kind < 48) {
    return std::is_same_v<T, float> ? static_cast<T>(SpecialFloat(kind)) : static_cast<T>(SpecialDouble(kind));
  }
  if (kind < 80) return static_cast<T>(static_cast<int8_t>(U8()));  // exact small integers
  if (kind < 112) {
    // A price: a level far from zero plus a fraction.
    static const double levels[8] = {100.0, 65000.0, 1.0, 1e9, 0.001, 1e15, 3e38, 1e300};
    const double level = levels[U8() % 8];
    return static_cast<T>(level + static_cast<int16_t>(U16()) / 256.0 * (level > 1e10 ? level * 1e-6 : 1.0));
  }
  if (kind < 144) {
    // Any magnitude: a 16-bit mantissa at an exponent across the type's whole range, subnormals
    // and overflow included (float: 2^-160..2^140, double: 2^-1100..2^1050).
    const double m = static_cast<int16_t>(U16()) / 32768.0;
    const int e = std::is_same_v<T, float> ? static_cast<int>(U16() % 300) - 160 : static_cast<int>(U16() % 2150) - 1100;
    return static_cast<T>(std::ldexp(m, e));
  }
  if constexpr (std::is_same_v<T, float>) {
    const uint32_t b = U32();
    float f;
    std::memcpy(&f, &b, sizeof f);
    return f;
  } else {
    const uint64_t b = U64();
    double d;
    std::memcpy(&d, &b, sizeof d);
    return d;
  }
}

template <typename T>
void FuzzInput::FillSeries(T* x, size_t n) {
  const uint8_t mode = U8() % 5;
  if (n == 0) return;
  switch (mode) {
    case 0: {
      // Element by element; when the bytes run out, the series repeats what it has.
      size_t i = 0;
      for (; i < n && n_ > 0; ++i) x[i] = Value<T>();
      const size_t period = i;
      for (; i < n; ++i) x[i] = period ? x[i % period] : T(0);
      break;
    }
    case 1: {
      // A palette of up to 16 values, chosen by the following bytes (then by an LCG).
      T palette[16];
      const size_t k = 1 + U8() % 16;
      for (size_t j = 0; j < k; ++j) palette[j] = Value<T>();
      uint64_t state = U64() | 1;
      for (size_t i = 0; i < n; ++i) {
        size_t idx;
        if (n_ > 0) {
          idx = U8();
        } else {
          state = state * 6364136223846793005ULL + 1442695040888963407ULL;
          idx = static_cast<size_t>(state >> 33);
        }
        x[i] = palette[idx % k];
      }
      break;
    }
    case 2: {
      // A random walk with steps from a small palette, specials placed by the following bytes.
      T steps[8];
      const size_t k = 1 + U8() % 8;
      T v = Value<T>();
      for (size_t j = 0; j < k; ++j) steps[j] = Value<T>();
      uint64_t state = U64() | 1;
      for (size_t i = 0; i < n; ++i) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        v = static_cast<T>(v + steps[(state >> 33) % k] * ((state >> 40) & 1 ? T(1) : T(-1)));
        x[i] = v;
      }
      while (n_ > 0) {
        const size_t pos = U16() % n;
        x[pos] = Value<T>();
      }
      break;
    }
    case 3: {
      // A constant with sparse overrides (position, value) until the bytes run out.
      const T c = Value<T>();
      for (size_t i = 0; i < n; ++i) x[i] = c;
      while (n_ > 0) {
        const size_t pos = U16() % n;
        const size_t runLen = 1 + U8() % 70;  // runs that cross a 64-element word
        const T v = Value<T>();
        for (size_t j = pos; j < n && j < pos + runLen; ++j) x[j] = v;
      }
      break;
    }
    default: {
      // A smooth series with NaN holes in a pattern (alternating, blocks, every k-th).
      const T base = Value<T>();
      const T amp = Value<T>();
      const size_t every = 1 + U8() % 9;
      const size_t phase = U8();
      const bool hole = Bool();
      for (size_t i = 0; i < n; ++i) {
        T v = static_cast<T>(base + amp * static_cast<T>(std::sin(static_cast<double>(i) * 0.1)));
        if (hole && (i + phase) % every == 0) v = std::numeric_limits<T>::quiet_NaN();
        x[i] = v;
      }
      while (n_ > 0) {
        const size_t pos = U16() % n;
        x[pos] = Value<T>();
      }
      break;
    }
  }
}

// A series of `n` elements `offset` elements into its own heap block, nothing after it and the
// bytes before it poisoned.
template <typename T>
class GuardedBuffer {
 public:
  GuardedBuffer(size_t n, size_t offsetElements) : n_(n), off_(offsetElements) {
    const size_t bytes = (off_ + n_) * sizeof(T);
    // Base aligned to 64 bytes, so the offset alone decides the view's alignment.
    void* p = nullptr;
    if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0) std::abort();
    base_ = static_cast<unsigned char*>(p);
    TG_FUZZ_POISON(base_, off_ * sizeof(T));
  }
  ~GuardedBuffer() {
    TG_FUZZ_UNPOISON(base_, off_ * sizeof(T));
    std::free(base_);
  }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;

  T* data() { return reinterpret_cast<T*>(base_ + off_ * sizeof(T)); }
  size_t size() const { return n_; }
  T& operator[](size_t i) { return data()[i]; }

 private:
  size_t n_;
  size_t off_;
  unsigned char* base_ = nullptr;
};

}  // namespace tg::fuzz
