// Whether this build runs under AddressSanitizer (gcc's -fsanitize=address
// defines __SANITIZE_ADDRESS__; clang says it through __has_feature). Tests
// that repeat one check over thousands of random inputs take fewer under
// it: the sanitizer looks for memory errors, which the same code paths
// show in fewer samples, and it runs such loops several times slower.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define NETKEEP_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NETKEEP_SANITIZED 1
#endif
#endif

namespace netkeep::test {
#ifdef NETKEEP_SANITIZED
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
}  // namespace netkeep::test
