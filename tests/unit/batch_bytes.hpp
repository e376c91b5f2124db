// What the nftables wire tests share: the bytes a batch holds.
#pragma once

#include <vector>

#include "backends/nft_batch.hpp"

namespace netkeep::test {

// The messages `encode` writes into a batch, in one buffer.
template <class F>
std::vector<char> encoded(F&& encode) {
  nft::Batch batch;
  encode(batch);
  return batch.bytes();
}

}  // namespace netkeep::test
