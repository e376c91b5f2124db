#include "model/config_parse.hpp"
#include "model/file_read.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace netkeep {

std::optional<std::string> base64_decode(std::string_view s) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (s.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < s.size(); i += 4) {
    int pad = 0;
    uint32_t acc = 0;
    for (size_t j = 0; j < 4; j++) {
      char c = s[i + j];
      if (c == '=') {
        // Padding only in the last group, and only at its end.
        if (i + 4 != s.size() || j < 2) return std::nullopt;
        pad++;
        acc <<= 6;
        continue;
      }
      int v = value(c);
      if (v < 0 || pad > 0) return std::nullopt;
      acc = acc << 6 | static_cast<uint32_t>(v);
    }
    out.push_back(static_cast<char>(acc >> 16));
    if (pad < 2) out.push_back(static_cast<char>(acc >> 8 & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(acc & 0xff));
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 2]);
    out += t[v >> 18];
    out += t[v >> 12 & 63];
    out += i + 1 < bytes.size() ? t[v >> 6 & 63] : '=';
    out += i + 2 < bytes.size() ? t[v & 63] : '=';
  }
  return out;
}

bool valid_ifname(std::string_view n) {
  if (n.empty() || n.size() > kMaxIfName || n == "." || n == "..") return false;
  // The kernel's dev_valid_name(): no '/', ':' or whitespace.
  return std::none_of(n.begin(), n.end(), [](char c) {
    return c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
  });
}

namespace {

// `buffer`: where the file's text is read and then kept, for the next read.
template <class T, class Parse>
ConfigFile<T> load_one(const std::filesystem::path& dir, const char* name, Diagnostics& diags,
                       Parse parse, std::string* buffer = nullptr) {
  ConfigFile<T> f;
  FileText file = read_regular_file(dir / name, {}, buffer ? std::move(*buffer) : std::string{});
  struct GiveBack {
    std::string* to;
    std::string& text;
    ~GiveBack() {
      if (to) *to = std::move(text);
    }
  } give_back{buffer, file.text};
  switch (file.result) {
    case ReadResult::missing:
      return f;
    case ReadResult::error:
      diags.push_back({Severity::error, name, "", fmt::format("cannot read: {}", file.error)});
      f.state = FileState::invalid;
      return f;
    case ReadResult::ok:
      break;
  }
  json::Sink sink{name, &diags};
  auto v = parse(file.text, sink);  // may take the text's storage (parse_portforwardings)
  if (!v || sink.errors > 0) {
    f.state = FileState::invalid;
    return f;
  }
  f.state = FileState::ok;
  f.value = std::move(*v);
  return f;
}

// A WireGuard device named like a bridge, or like an interfaces.json entry
// that takes a link by its MAC, would be two links of one name. (An entry
// of the device's name without a MAC configures the device: its address.)
// wireguard.json is the one refused: its devices are made, the others are
// there already.
void check_wireguard_names(Desired& d, Diagnostics& diags) {
  if (!d.wireguard.ok() || !d.interfaces.ok()) return;
  const InterfacesConfig& ifs = d.interfaces.value;
  const auto& wgs = d.wireguard.value.interfaces;
  for (size_t w = 0; w < wgs.size(); w++) {
    std::string other;
    for (size_t b = 0; b < ifs.bridges.size() && other.empty(); b++)
      if (ifs.bridges[b].name == wgs[w].name)
        other = fmt::format("the bridge {} bridges[{}]", kInterfacesFile, b);
    for (size_t i = 0; i < ifs.interfaces.size() && other.empty(); i++)
      if (ifs.interfaces[i].name == wgs[w].name && ifs.interfaces[i].hardware_addr)
        other = fmt::format("{} interfaces[{}], which takes the link with MAC {}", kInterfacesFile,
                            i, ifs.interfaces[i].hardware_addr->str());
    if (other.empty()) continue;
    diags.push_back({Severity::error, kWireGuardFile,
                     json::join(json::index("interfaces", w), "name"),
                     fmt::format("\"{}\" is also the name of {}", wgs[w].name, other)});
    d.wireguard.state = FileState::invalid;
  }
}

}  // namespace

Leases load_leases(const std::filesystem::path& dir, Diagnostics& diags) {
  return {load_one<Dhcp4Lease>(dir, kDhcp4File, diags, parse_dhcp4_lease),
          load_one<Dhcp6Lease>(dir, kDhcp6File, diags, parse_dhcp6_lease)};
}

Desired load_config(const std::filesystem::path& dir, Diagnostics& diags, ConfigMemo* memo) {
  Desired d;
  // A config directory that is not there (/perm not mounted at boot) is not
  // a config that declares nothing: every file counts as invalid, so what
  // they govern stays as it is.
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    diags.push_back({Severity::error, dir.string(), "",
                     ec ? ec.message() : "not a directory (is it mounted?)"});
    for (FileState* s : {&d.interfaces.state, &d.dhcp4.state, &d.dhcp6.state,
                         &d.portforwardings.state, &d.wireguard.state, &d.firewall.state})
      *s = FileState::invalid;
    return d;
  }
  d.interfaces = load_one<InterfacesConfig>(dir, kInterfacesFile, diags, parse_interfaces);
  Leases leases = load_leases(dir, diags);
  d.dhcp4 = std::move(leases.dhcp4);
  d.dhcp6 = std::move(leases.dhcp6);
  d.portforwardings = load_one<PortForwardings>(
      dir, kPortForwardingsFile, diags,
      [pf = memo ? &memo->forwardings : nullptr](std::string& t, json::Sink& s) {
        return parse_portforwardings(t, s, pf, &t);
      },
      memo ? &memo->forwardings.read_buffer : nullptr);
  d.wireguard = load_one<WireGuardConfig>(dir, kWireGuardFile, diags, parse_wireguard);
  check_wireguard_names(d, diags);
  d.firewall = load_one<FirewallConfig>(
      dir, kFirewallFile, diags,
      [fw = memo ? &memo->firewall : nullptr](std::string& t, json::Sink& s) {
        return parse_firewall(t, s, fw);
      });
  // Private keys: the file should be readable by its owner only.
  struct stat st;
  if (d.wireguard.state != FileState::missing && stat((dir / kWireGuardFile).c_str(), &st) == 0 &&
      (st.st_mode & 077))
    diags.push_back({Severity::warning, kWireGuardFile, "",
                     fmt::format("holds private keys but its mode is {:04o}; chmod 600 it",
                                 st.st_mode & 07777)});
  return d;
}

}  // namespace netkeep
