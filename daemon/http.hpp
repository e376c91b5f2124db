// GET /metrics over HTTP/1.1 with Boost.Beast, on the daemon's one
// io_context. Every read and write has a deadline and requests are size
// limited, so a slow or malformed client never holds up a reconcile. At
// most kMaxConnections are served at once (more wait in the listen
// backlog), and when the process is out of file descriptors the server
// pauses accepting instead of spinning: a flood of connections cannot take
// the descriptors the reconcile needs.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace netkeep {

class MetricsServer {
 public:
  MetricsServer(boost::asio::io_context& io, std::function<std::string()> render);
  // Serves on `listen`, HOST:PORT or [IPv6]:PORT; says why it cannot.
  std::optional<std::string> listen(const std::string& listen);
  static constexpr size_t kMaxConnections = 64;

 private:
  void accept();
  void closed();  // a session ended: accept again if that was the cap
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer pause_;  // after EMFILE/ENFILE
  std::function<std::string()> render_;
  std::shared_ptr<size_t> open_ = std::make_shared<size_t>(0);  // sessions alive
  bool accepting_ = false;
};

}  // namespace netkeep
