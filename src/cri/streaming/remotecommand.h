#pragma once
// The remotecommand protocol of kubelet's streaming server (exec, attach):
// version negotiation, the error stream's documents and the resize
// stream's JSON. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::cri::streaming {

// Versions as X-Stream-Protocol-Version (SPDY) or the WebSocket
// subprotocol names them.
enum class Protocol { V1 = 1, V2, V3, V4, V5 };

inline constexpr std::string_view kProtocolV1 = "channel.k8s.io";
inline constexpr std::string_view kProtocolV2 = "v2.channel.k8s.io";
inline constexpr std::string_view kProtocolV3 = "v3.channel.k8s.io";
inline constexpr std::string_view kProtocolV4 = "v4.channel.k8s.io";
inline constexpr std::string_view kProtocolV5 = "v5.channel.k8s.io";
inline constexpr std::string_view kPortForwardProtocolV1 = "portforward.k8s.io";

// The server's preference order (v5 first), as kubelet's
// SupportedStreamingProtocols.
const std::vector<std::string>& supportedRemoteCommandProtocols();

// Splits header values on commas and trims spaces (several header lines
// allowed), dropping empty items.
std::vector<std::string> splitProtocols(const std::vector<std::string>& headerValues);
// The first client protocol the server supports (client order), or "".
std::string negotiate(const std::vector<std::string>& clientProtocols, const std::vector<std::string>& serverProtocols);
std::optional<Protocol> protocolFromName(std::string_view name);

// WebSocket subprotocols for remotecommand: "" (no subprotocol asked),
// channel.k8s.io, base64.channel.k8s.io, v4.channel.k8s.io,
// v4.base64.channel.k8s.io, v5.channel.k8s.io.
struct WsProtocol {
  std::string name;
  bool binary = true;
  bool v4Status = false;  // the error channel carries a metav1.Status JSON
  bool closeSignal = false;  // v5: channel 255 closes a stream
};
// The first offered subprotocol that is supported (offer order; an empty
// offer selects ""), or nullopt: the handshake is refused.
std::optional<WsProtocol> negotiateWsRemoteCommand(const std::vector<std::string>& offered);
// Port forwarding over WebSocket: "", v4.channel.k8s.io, v4.base64.channel.k8s.io.
std::optional<WsProtocol> negotiateWsPortForward(const std::vector<std::string>& offered);

// What a remote command ended with.
struct CommandResult {
  enum Kind { Success, ExitCode, Internal } kind = Success;
  int exitCode = 0;
  std::string message;  // ExitCode: the runtime's error text; Internal: the error
};

// The metav1.Status JSON that v4/v5 write on the error stream:
// Success {"metadata":{},"status":"Success"}; a non-zero exit: Failure,
// reason NonZeroExitCode, details.causes[0] {reason: ExitCode, message: "N"};
// other errors: Failure, reason InternalError, code 500.
std::string statusDocument(const CommandResult& r);
// v1-v3: nothing on success, the error text otherwise.
std::string legacyStatusText(const CommandResult& r);

// The exit code a client reads back from a v4 status document (for tests
// and the SPDY test client): 0 for Success, the ExitCode cause for
// NonZeroExitCode, nullopt for anything else.
std::optional<int> exitCodeFromStatus(std::string_view document);

// The resize stream: a sequence of JSON objects {"Width":W,"Height":H}
// (field names matched case-insensitively, as Go's decoder does). feed()
// returns the sizes completed by the new bytes; garbage stops the stream
// (bad() becomes true, later input is ignored).
struct TermSize {
  uint16_t width = 0, height = 0;
};
class ResizeDecoder {
 public:
  std::vector<TermSize> feed(std::string_view bytes);
  bool bad() const { return bad_; }

 private:
  std::string buf_;
  bool bad_ = false;
};

}  // namespace berth::cri::streaming
