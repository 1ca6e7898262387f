// libFuzzer target: the two stream framings berth decodes.
//  - the monitor protocol (src/monitor/framing.*): FrameDecoder fed in
//    pieces, and the payload decoders (int32, resize, start error);
//  - Docker's multiplexed stdout/stderr stream as the CLI demuxes it
//    (src/cli/stdio.* FrameDemuxer): [STREAM,0,0,0,SIZE_BE32] + payload.
// Input: byte 0 sets the piece size (1..256) the stream is fed in; the
// rest is the byte stream. The same bytes go to both decoders.
// Checks: no crash, no UB, no leak; the monitor decoder returns the same
// messages whatever the split (compared with one whole feed), and
// re-encoding them gives back the prefix of the input they came from
// (padding bytes aside); the
// demuxer hands out exactly the payload bytes its headers announce.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cli/stdio.h"
#include "monitor/framing.h"

using namespace berth::monitor;

namespace {

std::vector<Message> drain(FrameDecoder& d) {
  std::vector<Message> out;
  while (auto m = d.next()) out.push_back(std::move(*m));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = size_t(data[0]) + 1;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

  // Monitor protocol: pieces vs. one feed.
  FrameDecoder whole, split;
  whole.feed(in);
  std::vector<Message> a = drain(whole), b;
  for (size_t off = 0; off < in.size(); off += piece) {
    split.feed(in.substr(off, piece));
    for (auto& m : drain(split)) b.push_back(std::move(m));
  }
  if (a.size() != b.size() || whole.invalid() != split.invalid()) std::abort();
  // Re-encoded, the messages give back the input's prefix, header padding
  // aside (the decoder ignores those three bytes, the encoder writes zeros).
  std::string re, expect;
  for (size_t i = 0; i < a.size(); i++) {
    size_t at = re.size();
    expect.append(in.substr(at, 8 + a[i].payload.size()));
    expect[at + 1] = expect[at + 2] = expect[at + 3] = 0;
    if (a[i].type != b[i].type || a[i].payload != b[i].payload) std::abort();
    re += encodeMessage(a[i].type, a[i].payload);
    int32_t v;
    uint16_t rows, cols;
    berth::runtime::Stage stage;
    std::string msg;
    (void)decodeInt32(a[i].payload, v);
    (void)decodeResize(a[i].payload, rows, cols);
    (void)decodeStartError(a[i].payload, stage, v, msg);
  }
  if (expect != re) std::abort();

  // Docker's multiplexed stream.
  size_t announced = 0, got = 0;
  for (size_t off = 0; off + 8 <= in.size();) {
    uint32_t n = (uint32_t(uint8_t(in[off + 4])) << 24) | (uint32_t(uint8_t(in[off + 5])) << 16) |
                 (uint32_t(uint8_t(in[off + 6])) << 8) | uint32_t(uint8_t(in[off + 7]));
    size_t take = std::min<size_t>(n, in.size() - off - 8);
    announced += take;
    off += 8 + size_t(n);
    if (off > in.size()) break;
  }
  berth::cli::FrameDemuxer demux([&](int stream, std::string_view p) {
    if (stream < 0 || stream > 3) std::abort();
    got += p.size();
  });
  for (size_t off = 0; off < in.size(); off += piece) demux.feed(in.substr(off, piece));
  if (got != announced) std::abort();
  return 0;
}
