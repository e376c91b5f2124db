// GET /metrics over HTTP/1.1 with Boost.Beast, on the daemon's one
// io_context. Every read and write has a deadline and requests are size
// limited, so a slow or malformed client never holds up a reconcile.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>

namespace netkeep {

class MetricsServer {
 public:
  // `listen` is HOST:PORT or [IPv6]:PORT. On failure `error` is set.
  MetricsServer(boost::asio::io_context& io, const std::string& listen,
                std::function<std::string()> render, std::string& error);
  uint16_t port() const;  // the bound port (useful with port 0)

 private:
  void accept();
  boost::asio::ip::tcp::acceptor acceptor_;
  std::function<std::string()> render_;
};

}  // namespace netkeep
