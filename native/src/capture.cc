// Frame checks for reading capture files (core/capture/format.ts, scanFrames), apart from the
// probe's addon: it needs no libbpf, so a replay uses it on any machine that built it.
//
// Most frames are a 128-byte record header and a short payload (~180 bytes on the demo capture).
// JavaScript's CRC tables take ~0.5 ns a byte, node's zlib.crc32 a few hundred ns a call, and the
// zlib that node exports (crc32_z) has no SIMD path in Node 20's builds (~0.6 ns a byte). Here the
// CRC folds 16 bytes a step with carry-less multiplication (PCLMULQDQ), and one call checks a
// whole run of frames.
#include <napi.h>
#include <zlib.h>

#include <endian.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

// The frame as core/capture/format.ts writes it: u32 mark, u32 length, u32 crc32(record), record.
constexpr uint32_t kFrameMark = 0x31524345;    // "ECR1" little-endian (FRAME_MARK)
constexpr size_t kFrameHeaderSize = 12;        // FRAME_HEADER_SIZE
constexpr uint32_t kMaxRecordSize = 1u << 20;  // MAX_RECORD_SIZE

uint32_t ReadLE32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return le32toh(v);
}

#if defined(__x86_64__)
#define ESPAN_FOLD_TARGET __attribute__((target("pclmul,sse4.1")))

ESPAN_FOLD_TARGET inline __m128i Load(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }

// 128 bits carried 128 bits further along (by the constants k) and added to the next 128
ESPAN_FOLD_TARGET inline __m128i Fold(__m128i x, __m128i k, __m128i next) {
  return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x11), _mm_clmulepi64_si128(x, k, 0x00)), next);
}

// CRC-32 (IEEE, bit-reflected) of `len` bytes, len a multiple of 16 and at least 64, continuing
// from the register value `crc` (not the final, inverted CRC). Folds four 16-byte lanes, then one,
// then Barrett-reduces to 32 bits: Intel's "Fast CRC Computation for Generic Polynomials Using
// PCLMULQDQ Instruction" (2009), with the constants of its bit-reflected IEEE case as Linux
// (crc32-pclmul_asm.S) and Chromium's zlib (crc32_simd.c) use them.
ESPAN_FOLD_TARGET uint32_t FoldCrc32(const uint8_t* buf, size_t len, uint32_t crc) {
  const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
  const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
  const __m128i k5k0 = _mm_set_epi64x(0, 0x0163cd6124);
  const __m128i poly = _mm_set_epi64x(0x01f7011641, 0x01db710641);
  const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);

  __m128i x1 = _mm_xor_si128(Load(buf), _mm_cvtsi32_si128(static_cast<int>(crc)));
  __m128i x2 = Load(buf + 16), x3 = Load(buf + 32), x4 = Load(buf + 48);
  for (buf += 64, len -= 64; len >= 64; buf += 64, len -= 64) {
    x1 = Fold(x1, k1k2, Load(buf));
    x2 = Fold(x2, k1k2, Load(buf + 16));
    x3 = Fold(x3, k1k2, Load(buf + 32));
    x4 = Fold(x4, k1k2, Load(buf + 48));
  }
  x1 = Fold(x1, k3k4, x2);
  x1 = Fold(x1, k3k4, x3);
  x1 = Fold(x1, k3k4, x4);
  for (; len >= 16; buf += 16, len -= 16) x1 = Fold(x1, k3k4, Load(buf));

  // 128 bits to 64, then Barrett reduction to 32
  x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), _mm_clmulepi64_si128(x1, k3k4, 0x10));
  x1 = _mm_xor_si128(_mm_srli_si128(x1, 4), _mm_clmulepi64_si128(_mm_and_si128(x1, low32), k5k0, 0x00));
  __m128i q = _mm_clmulepi64_si128(_mm_and_si128(x1, low32), poly, 0x10);
  q = _mm_clmulepi64_si128(_mm_and_si128(q, low32), poly, 0x00);
  return static_cast<uint32_t>(_mm_extract_epi32(_mm_xor_si128(x1, q), 1));
}

bool CpuFolds() {
  __builtin_cpu_init();  // before the loader has run libgcc's own initialiser, in a static initialiser
  return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
}

const bool kCpuFolds = CpuFolds();
#endif

// crc32(record) as the frame stores it. The bytes past the last 16 (and every byte on a CPU
// without PCLMULQDQ) go through zlib: node's own where it exports one, else the system's libz.
uint32_t Crc32(const uint8_t* p, size_t len) {
  uLong crc = 0;
#if defined(__x86_64__)
  if (kCpuFolds && len >= 64) {
    const size_t folded = len & ~static_cast<size_t>(15);
    crc = ~FoldCrc32(p, folded, ~0u);
    p += folded;
    len -= folded;
  }
#endif
  return static_cast<uint32_t>(crc32_z(crc, p, len));
}

// goodFramesEnd(bytes, from, maxFrames): walks the frames of `bytes` from offset `from` while
// each has the mark, a length within the limit, all its record bytes present and its CRC, at
// most maxFrames of them, and returns the offset where that run ends (`from` when the first
// frame is not good). Why a frame is not good is JavaScript's to tell.
Napi::Value GoodFramesEnd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      !info[1].IsNumber() || !info[2].IsNumber()) {
    throw Napi::TypeError::New(env, "goodFramesEnd(bytes: Uint8Array, from: number, maxFrames: number)");
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  const uint8_t* data = bytes.Data();
  const size_t size = bytes.ByteLength();
  const double from = info[1].As<Napi::Number>().DoubleValue();
  if (!(from >= 0 && from <= static_cast<double>(size))) throw Napi::RangeError::New(env, "goodFramesEnd: from is outside the bytes");
  const double most = info[2].As<Napi::Number>().DoubleValue();

  size_t at = static_cast<size_t>(from);
  for (double n = 0; n < most && size - at >= kFrameHeaderSize; n++) {
    const uint8_t* frame = data + at;
    if (ReadLE32(frame) != kFrameMark) break;
    const uint32_t length = ReadLE32(frame + 4);
    if (length > kMaxRecordSize || size - at - kFrameHeaderSize < length) break;
    if (Crc32(frame + kFrameHeaderSize, length) != ReadLE32(frame + 8)) break;
    at += kFrameHeaderSize + length;
  }
  return Napi::Number::New(env, static_cast<double>(at));
}

// crc32(bytes): the CRC as goodFramesEnd takes it, for the test that checks it against JavaScript's.
Napi::Value Crc32Of(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "crc32(bytes: Uint8Array)");
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  return Napi::Number::New(env, Crc32(bytes.Data(), bytes.ByteLength()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Chromium's zlib (node's) learns the CPU's features at this call, by zlib's convention.
  crc32(0, Z_NULL, 0);
  exports.Set("goodFramesEnd", Napi::Function::New(env, GoodFramesEnd));
  exports.Set("crc32", Napi::Function::New(env, Crc32Of));
  return exports;
}

}  // namespace

NODE_API_MODULE(espan_capture, Init)
