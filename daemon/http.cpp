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
  Session(tcp::socket s, const std::function<std::string()>& render, std::function<void()> done)
      : stream_(std::move(s)), render_(render), done_(std::move(done)) {}
  ~Session() { done_(); }

  void start() {
    parser_.emplace();
    parser_->header_limit(8 * 1024);
    stream_.expires_after(kDeadline);
    // The header alone: a request with a body (a POST) is answered 405
    // without reading it.
    http::async_read_header(
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
    const bool head = req.method() == http::verb::head;
    if (req.method() != http::verb::get && !head) {
      res_.result(http::status::method_not_allowed);
      res_.set(http::field::allow, "GET, HEAD");
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
    auto then = [self = shared_from_this()](beast::error_code, size_t) { self->close(); };
    if (!head) return http::async_write(stream_, res_, then);
    // HEAD: the same header, Content-Length included, and no body.
    head_.emplace(res_);
    http::async_write_header(stream_, *head_, then);
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
  std::optional<http::response_serializer<http::string_body>> head_;
  std::function<std::string()> render_;
  std::function<void()> done_;
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

MetricsServer::MetricsServer(asio::io_context& io, std::function<std::string()> render)
    : acceptor_(io), pause_(io), render_(std::move(render)) {}

std::optional<std::string> MetricsServer::listen(const std::string& listen) {
  std::string host, port;
  if (!parse_listen(listen, host, port)) return "--metrics " + listen + ": expected HOST:PORT";
  beast::error_code ec;
  tcp::resolver resolver(acceptor_.get_executor());
  auto endpoints = resolver.resolve(host, port, tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) return "--metrics " + listen + ": " + ec.message();
  tcp::endpoint ep = endpoints.begin()->endpoint();
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return "--metrics " + listen + ": " + ec.message();
  accept();
  return std::nullopt;
}

void MetricsServer::accept() {
  if (accepting_ || *open_ >= kMaxConnections) return;  // closed() resumes
  accepting_ = true;
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket s) {
    accepting_ = false;
    if (ec == asio::error::operation_aborted) return;
    if (ec == asio::error::no_descriptors || ec.value() == ENFILE) {
      // Out of descriptors: accepting again at once would spin. Pause, and
      // let the reconcile have what frees up meanwhile.
      pause_.expires_after(std::chrono::milliseconds(200));
      pause_.async_wait([this](beast::error_code e) {
        if (!e) accept();
      });
      return;
    }
    if (!ec) {
      ++*open_;
      std::weak_ptr<size_t> open = open_;
      std::make_shared<Session>(std::move(s), render_, [this, open] {
        if (auto n = open.lock()) {  // the server still exists
          --*n;
          closed();
        }
      })->start();
    }
    accept();
  });
}

void MetricsServer::closed() {
  accept();  // resumes accepting if the cap had stopped it (else does nothing)
}

}  // namespace netkeep
