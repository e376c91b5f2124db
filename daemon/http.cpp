#include "daemon/http.hpp"

#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>

namespace netkeep {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kDeadline = std::chrono::seconds(5);

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket s, const std::function<std::string()>& render)
      : stream_(std::move(s)), render_(render) {}

  void start() {
    parser_.emplace();
    parser_->header_limit(8 * 1024);
    parser_->body_limit(0);  // a scrape has no body
    stream_.expires_after(kDeadline);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec) return close();  // timeout, reset, malformed, too large
    const auto& req = parser_->get();
    res_.version(req.version());
    res_.keep_alive(false);
    res_.set(http::field::server, "netkeep");
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res_.result(http::status::method_not_allowed);
      res_.body() = "GET /metrics\n";
    } else if (req.target() != "/metrics") {
      res_.result(http::status::not_found);
      res_.body() = "netkeep serves /metrics\n";
    } else {
      res_.result(http::status::ok);
      res_.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res_.body() = render_();
    }
    res_.prepare_payload();
    stream_.expires_after(kDeadline);
    http::async_write(stream_, res_,
                      [self = shared_from_this()](beast::error_code, size_t) { self->close(); });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{8 * 1024};
  std::optional<http::request_parser<http::empty_body>> parser_;
  http::response<http::string_body> res_;
  std::function<std::string()> render_;
};

bool parse_listen(const std::string& s, std::string& host, std::string& port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon + 1 == s.size()) return false;
  host = s.substr(0, colon);
  port = s.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return !host.empty();
}

}  // namespace

MetricsServer::MetricsServer(asio::io_context& io, const std::string& listen,
                             std::function<std::string()> render, std::string& error)
    : acceptor_(io), render_(std::move(render)) {
  std::string host, port;
  if (!parse_listen(listen, host, port)) {
    error = "--metrics " + listen + ": expected HOST:PORT";
    return;
  }
  beast::error_code ec;
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(host, port, tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    error = "--metrics " + listen + ": " + ec.message();
    return;
  }
  tcp::endpoint ep = endpoints.begin()->endpoint();
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error = "--metrics " + listen + ": " + ec.message();
    return;
  }
  accept();
}

uint16_t MetricsServer::port() const {
  beast::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void MetricsServer::accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket s) {
    if (!ec) std::make_shared<Session>(std::move(s), render_)->start();
    if (ec != asio::error::operation_aborted) accept();
  });
}

}  // namespace netkeep
