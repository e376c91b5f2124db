#include "daemon/checks.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace netkeep {

namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Per kind: an echo is answered in well under a second on a working path;
// a TCP handshake, even with a retransmitted SYN, in about two; a command
// is given five.
constexpr milliseconds kPingTimeout{1000}, kTcpTimeout{2000}, kExecTimeout{5000};

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

int ms_left(SteadyClock::time_point end) {
  auto left = std::chrono::duration_cast<milliseconds>(end - SteadyClock::now()).count();
  return static_cast<int>(std::max<int64_t>(left, 0));
}

struct AddrInfo {
  addrinfo* ai = nullptr;
  ~AddrInfo() {
    if (ai) freeaddrinfo(ai);
  }
};

// Numeric addresses only for ping (no resolver on the path being checked);
// names for tcp.
Result<sockaddr_storage, std::string> resolve(const std::string& host, const std::string& port,
                                              bool numeric, socklen_t& len) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = numeric ? AI_NUMERICHOST : 0;
  AddrInfo res;
  if (int e = getaddrinfo(host.c_str(), port.empty() ? nullptr : port.c_str(), &hints, &res.ai))
    return unexpected(fmt::format("cannot resolve {}: {}", host, gai_strerror(e)));
  sockaddr_storage ss{};
  std::memcpy(&ss, res.ai->ai_addr, res.ai->ai_addrlen);
  len = res.ai->ai_addrlen;
  return ss;
}

uint16_t checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n % 2) sum += static_cast<uint32_t>(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons(static_cast<uint16_t>(~sum));
}

CheckResult check_ping(const Check& c, milliseconds limit) {
  socklen_t len = 0;
  auto to = resolve(c.host, "", true, len);
  if (!to) return {false, to.error()};
  const bool v6 = to->ss_family == AF_INET6;
  Fd s(::socket(to->ss_family, SOCK_RAW | SOCK_CLOEXEC,
                v6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP}));
  if (s.fd < 0) return {false, fmt::format("raw ICMP socket: {}", std::strerror(errno))};
  const uint16_t id = static_cast<uint16_t>(::getpid());
  static uint16_t seq = 0;
  seq++;
  uint8_t pkt[16] = {};
  pkt[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
  std::memcpy(pkt + 4, &id, 2);
  std::memcpy(pkt + 6, &seq, 2);
  std::memcpy(pkt + 8, "netkeep!", 8);
  if (!v6) {  // the kernel fills in ICMPv6's checksum
    const uint16_t sum = checksum(pkt, sizeof pkt);
    std::memcpy(pkt + 2, &sum, 2);
  }
  const auto start = SteadyClock::now();
  const auto end = start + limit;
  if (::sendto(s.fd, pkt, sizeof pkt, 0, reinterpret_cast<sockaddr*>(&*to), len) < 0)
    return {false, fmt::format("sending an echo to {}: {}", c.host, std::strerror(errno))};
  for (;;) {
    pollfd p{s.fd, POLLIN, 0};
    int n = ::poll(&p, 1, ms_left(end));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return {false, fmt::format("no echo reply from {} in {} ms", c.host, limit.count())};
    uint8_t buf[1500];
    sockaddr_storage from{};
    socklen_t flen = sizeof from;
    ssize_t got = ::recvfrom(s.fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen);
    if (got < 0) continue;
    // A raw IPv4 socket hands over the IP header too.
    size_t off = v6 ? 0 : static_cast<size_t>(buf[0] & 0x0f) * 4;
    if (static_cast<size_t>(got) < off + 8) continue;
    const uint8_t* icmp = buf + off;
    if (icmp[0] != (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY)) continue;
    if (std::memcmp(icmp + 4, &id, 2) || std::memcmp(icmp + 6, &seq, 2)) continue;
    const double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
    return {true, fmt::format("reply from {} in {:.1f} ms", c.host, ms)};
  }
}

CheckResult check_tcp(const Check& c, milliseconds limit) {
  socklen_t len = 0;
  auto to = resolve(c.host, c.port, false, len);
  if (!to) return {false, to.error()};
  Fd s(::socket(to->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (s.fd < 0) return {false, fmt::format("socket: {}", std::strerror(errno))};
  const auto end = SteadyClock::now() + limit;
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&*to), len) == 0) return {true, "connected"};
  if (errno != EINPROGRESS) return {false, std::strerror(errno)};
  for (;;) {
    pollfd p{s.fd, POLLOUT, 0};
    int n = ::poll(&p, 1, ms_left(end));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return {false, fmt::format("no answer in {} ms", limit.count())};
    if (n < 0) return {false, std::strerror(errno)};
    int err = 0;
    socklen_t elen = sizeof err;
    ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &elen);
    if (err) return {false, std::strerror(err)};
    return {true, "connected"};
  }
}

CheckResult check_exec(const Check& c, milliseconds limit) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) < 0) return {false, fmt::format("pipe: {}", std::strerror(errno))};
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out[0]);
    ::close(out[1]);
    return {false, fmt::format("fork: {}", std::strerror(errno))};
  }
  if (pid == 0) {
    ::setpgid(0, 0);  // its own group, so a timeout ends all it started
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::execl("/bin/sh", "sh", "-c", c.command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  ::close(out[1]);
  Fd r(out[0]);
  std::string said;
  const auto end = SteadyClock::now() + limit;
  bool timed_out = false;
  for (;;) {
    pollfd p{r.fd, POLLIN, 0};
    int n = ::poll(&p, 1, ms_left(end));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      timed_out = true;
      break;
    }
    char buf[512];
    ssize_t got = ::read(r.fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // every writer closed it: the command is done
    if (said.size() < 400) said.append(buf, static_cast<size_t>(got));
  }
  if (timed_out) ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::replace(said.begin(), said.end(), '\n', ' ');
  while (!said.empty() && said.back() == ' ') said.pop_back();
  if (said.size() > 200) said = said.substr(0, 200) + "...";
  const std::string tail = said.empty() ? "" : ": " + said;
  if (timed_out)
    return {false, fmt::format("still running after {} ms, killed{}", limit.count(), tail)};
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {true, "exit 0" + tail};
  if (WIFEXITED(status)) return {false, fmt::format("exit {}{}", WEXITSTATUS(status), tail)};
  return {false, fmt::format("killed by signal {}{}", WTERMSIG(status), tail)};
}

}  // namespace

Result<Check, std::string> parse_check(const std::string& spec) {
  Check c;
  c.spec = spec;
  auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  const std::string rest = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (kind == "exec") {
    if (rest.empty()) return unexpected(std::string("exec: needs a command, as exec:'CMD ...'"));
    c.kind = Check::Kind::exec;
    c.command = rest;
    c.timeout = kExecTimeout;
    return c;
  }
  if (kind == "ping") {
    c.kind = Check::Kind::ping;
    c.host = rest;
    c.timeout = kPingTimeout;
    socklen_t len = 0;
    if (rest.empty() || !resolve(rest, "", true, len))
      return unexpected(fmt::format("ping: needs an IPv4 or IPv6 address, not \"{}\"", rest));
    return c;
  }
  if (kind == "tcp") {
    c.kind = Check::Kind::tcp;
    c.timeout = kTcpTimeout;
    const auto at = rest.rfind(':');
    if (at == std::string::npos || at == 0)
      return unexpected(fmt::format("tcp: needs HOST:PORT, not \"{}\"", rest));
    c.host = rest.substr(0, at);
    c.port = rest.substr(at + 1);
    if (c.host.size() > 2 && c.host.front() == '[' && c.host.back() == ']')
      c.host = c.host.substr(1, c.host.size() - 2);
    const int port = std::atoi(c.port.c_str());
    if (port < 1 || port > 65535 || c.port.find_first_not_of("0123456789") != std::string::npos)
      return unexpected(fmt::format("tcp: \"{}\" is not a port (1-65535)", c.port));
    return c;
  }
  return unexpected(fmt::format("\"{}\": a check is ping:IP, tcp:HOST:PORT or exec:COMMAND", spec));
}

CheckResult run_check(const Check& c, std::chrono::milliseconds limit) {
  limit = std::max(std::min(limit, c.timeout), milliseconds(1));
  switch (c.kind) {
    case Check::Kind::ping:
      return check_ping(c, limit);
    case Check::Kind::tcp:
      return check_tcp(c, limit);
    case Check::Kind::exec:
      return check_exec(c, limit);
  }
  return {false, "unknown check"};
}

std::vector<size_t> CheckVerdict::round(const std::vector<CheckResult>& results) {
  std::vector<size_t> changed;
  bool all = true;
  for (size_t i = 0; i < results.size() && i < passed_.size(); i++) {
    const bool ok = results[i].ok;
    all = all && ok;
    passed_[i] = passed_[i] || ok;
    saw_[i] = results[i].saw;
    if (last_[i] != int(ok)) changed.push_back(i);
    last_[i] = ok;
  }
  streak_ = all ? streak_ + 1 : 0;
  return changed;
}

std::optional<size_t> CheckVerdict::never_passed() const {
  for (size_t i = 0; i < passed_.size(); i++)
    if (!passed_[i]) return i;
  return std::nullopt;
}

std::string CheckVerdict::decide(const std::vector<std::string>& specs,
                                 std::chrono::milliseconds elapsed,
                                 std::chrono::milliseconds window) const {
  if (confirmed()) return "confirm: every check passed 3 times in a row";
  if (elapsed >= window / 2)
    if (auto i = never_passed())
      return fmt::format(
          "rollback: check {} did not pass once in the first half of the window ({})", specs[*i],
          saw(*i));
  return {};
}

std::chrono::milliseconds CheckVerdict::pause(std::chrono::milliseconds window) {
  return std::clamp<std::chrono::milliseconds>(window / 10, std::chrono::milliseconds(200),
                                               std::chrono::seconds(1));
}

}  // namespace netkeep
