// Go-compatible printing of JSON values: fmt's %v, strconv.Quote,
// encoding/json (docker's `json` function), fmt.Sprintf subset.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

#include "cli/format/template.h"
#include "cli/format/template_internal.h"
#include "cli/format/utf8.h"
#include "common/number.h"

namespace berth::cli::format {

std::string goQuote(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    size_t n;
    char32_t r = detail::decodeRune(s, i, &n);
    if (r == 0xFFFD && n == 1 && !(s.size() - i >= 3 && s.substr(i, 3) == "\xEF\xBF\xBD")) {
      unsigned char b = static_cast<unsigned char>(s[i]);
      out += "\\x";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
      i += 1;
      continue;
    }
    if (r == 0xFFFD) n = 3;
    std::string_view raw = s.substr(i, n);
    i += n;
    if (r == '"' || r == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(r));
      continue;
    }
    if (detail::isPrintRune(r)) {
      out.append(raw);
      continue;
    }
    switch (r) {
      case '\a': out += "\\a"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\v': out += "\\v"; continue;
      default: break;
    }
    if (r < ' ' || r == 0x7F) {
      out += "\\x";
      out.push_back(kHex[(r >> 4) & 15]);
      out.push_back(kHex[r & 15]);
    } else if (r < 0x10000) {
      out += fmt::format("\\u{:04x}", static_cast<uint32_t>(r));
    } else {
      out += fmt::format("\\U{:08x}", static_cast<uint32_t>(r));
    }
  }
  out.push_back('"');
  return out;
}

namespace detail {

// Go's strconv.FormatFloat(f, 'g', -1, 64) (what %v prints).
std::string goFloat(double f) {
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f > 0 ? "+Inf" : "-Inf";
  if (f == 0) return std::signbit(f) ? "-0" : "0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  // sci: [-]d[.ddd]e±XX
  bool neg = sci[0] == '-';
  if (neg) sci.erase(0, 1);
  size_t e = sci.find('e');
  int exp = numberOr<int>(std::string_view(sci).substr(e + 1), 0);
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  std::string out;
  // shortest formatting: %e when exp < -4 || exp >= 6 (strconv's eprec)
  if (exp < -4 || exp >= 6) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    out += eb;
    return neg ? "-" + out : out;
  }
  if (exp < 0) {
    out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  } else if (static_cast<size_t>(exp) + 1 >= digits.size()) {
    out = digits + std::string(static_cast<size_t>(exp) + 1 - digits.size(), '0');
  } else {
    out = digits.substr(0, static_cast<size_t>(exp) + 1) + "." + digits.substr(static_cast<size_t>(exp) + 1);
  }
  return neg ? "-" + out : out;
}

std::string goTypeName(const Value& v) {
  switch (v.type()) {
    case Value::value_t::string: return "string";
    case Value::value_t::boolean: return "bool";
    case Value::value_t::number_integer: return "int";
    case Value::value_t::number_unsigned: return "uint64";
    case Value::value_t::number_float: return "float64";
    case Value::value_t::array: return "[]interface {}";
    case Value::value_t::object: return "map[string]interface {}";
    default: return "<nil>";
  }
}

std::vector<std::string> sortedKeys(const Value& obj) {
  std::vector<std::string> keys;
  for (auto it = obj.begin(); it != obj.end(); ++it) keys.push_back(it.key());
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::string formatV(const Value& v) {
  switch (v.type()) {
    case Value::value_t::string: return v.get_ref<const std::string&>();
    case Value::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case Value::value_t::number_integer: return std::to_string(v.get<int64_t>());
    case Value::value_t::number_unsigned: return std::to_string(v.get<uint64_t>());
    case Value::value_t::number_float: return goFloat(v.get<double>());
    case Value::value_t::array: {
      std::string out = "[";
      bool first = true;
      for (const auto& e : v) {
        if (!first) out.push_back(' ');
        first = false;
        out += formatV(e);
      }
      return out + "]";
    }
    case Value::value_t::object: {
      std::string out = "map[";
      bool first = true;
      for (const auto& k : sortedKeys(v)) {
        if (!first) out.push_back(' ');
        first = false;
        out += k + ":" + formatV(v[k]);
      }
      return out + "]";
    }
    default: return "<nil>";
  }
}

namespace {

void jsonString(std::string& out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    unsigned char b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      switch (b) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (b < 0x20) {
            out += "\\u00";
            out.push_back(kHex[b >> 4]);
            out.push_back(kHex[b & 15]);
          } else {
            out.push_back(static_cast<char>(b));
          }
      }
      ++i;
      continue;
    }
    size_t n;
    char32_t r = decodeRune(s, i, &n);
    if (r == 0xFFFD && n == 1) {
      out += "\\ufffd";
    } else if (r == 0x2028 || r == 0x2029) {
      out += r == 0x2028 ? "\\u2028" : "\\u2029";
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  out.push_back('"');
}

void jsonFloat(std::string& out, double f) {
  if (!std::isfinite(f)) {
    out += "null";  // Go errors here; JSON input cannot produce it
    return;
  }
  double a = std::fabs(f);
  char buf[64];
  if (a != 0 && (a < 1e-6 || a >= 1e21)) {
    auto res = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
    std::string s(buf, res.ptr);
    size_t n = s.size();
    if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') s.erase(n - 2, 1);
    out += s;
  } else {
    auto res = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::fixed);
    out.append(buf, res.ptr);
  }
}

void jsonValue(std::string& out, const Value& v) {
  switch (v.type()) {
    case Value::value_t::string: jsonString(out, v.get_ref<const std::string&>()); break;
    case Value::value_t::boolean: out += v.get<bool>() ? "true" : "false"; break;
    case Value::value_t::number_integer: out += std::to_string(v.get<int64_t>()); break;
    case Value::value_t::number_unsigned: out += std::to_string(v.get<uint64_t>()); break;
    case Value::value_t::number_float: jsonFloat(out, v.get<double>()); break;
    case Value::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v) {
        if (!first) out.push_back(',');
        first = false;
        jsonValue(out, e);
      }
      out.push_back(']');
      break;
    }
    case Value::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out.push_back(',');
        first = false;
        jsonString(out, it.key());
        out.push_back(':');
        jsonValue(out, it.value());
      }
      out.push_back('}');
      break;
    }
    default: out += "null"; break;
  }
}

std::string pad(std::string s, int width, bool minus, bool zero) {
  int len = static_cast<int>(runeCountOf(s));
  if (width <= len) return s;
  size_t n = static_cast<size_t>(width - len);
  if (minus) return s + std::string(n, ' ');
  if (zero) {
    size_t signAt = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    return s.insert(signAt, std::string(n, '0'));
  }
  return std::string(n, ' ') + s;
}

std::string badVerb(char verb, const Value* v) {
  if (!v) return fmt::format("%!{}(<nil>)", verb);
  if (v->is_null()) return fmt::format("%!{}(<nil>)", verb);
  return fmt::format("%!{}({}={})", verb, goTypeName(*v), formatV(*v));
}

}  // namespace

size_t runeCountOf(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    size_t l;
    decodeRune(s, i, &l);
    i += l;
    ++n;
  }
  return n;
}

std::string goSprintf(std::string_view f, const std::vector<const Value*>& args) {
  std::string out;
  size_t argi = 0;
  for (size_t i = 0; i < f.size();) {
    if (f[i] != '%') {
      out.push_back(f[i++]);
      continue;
    }
    ++i;
    bool minus = false, plus = false, zero = false, sharp = false, space = false;
    for (; i < f.size(); ++i) {
      if (f[i] == '-') minus = true;
      else if (f[i] == '+') plus = true;
      else if (f[i] == '0') zero = true;
      else if (f[i] == '#') sharp = true;
      else if (f[i] == ' ') space = true;
      else break;
    }
    int width = -1, prec = -1;
    auto number = [&](int& dst) {
      if (i < f.size() && f[i] == '*') {
        ++i;
        if (argi < args.size() && args[argi] && args[argi]->is_number_integer()) dst = args[argi]->get<int>();
        ++argi;
        return;
      }
      if (i < f.size() && f[i] >= '0' && f[i] <= '9') {
        dst = 0;
        while (i < f.size() && f[i] >= '0' && f[i] <= '9') dst = dst * 10 + (f[i++] - '0');
      }
    };
    number(width);
    if (i < f.size() && f[i] == '.') {
      ++i;
      prec = 0;
      number(prec);
    }
    if (i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    char verb = f[i++];
    if (verb == '%') {
      out.push_back('%');
      continue;
    }
    if (argi >= args.size()) {
      out += fmt::format("%!{}(MISSING)", verb);
      continue;
    }
    const Value* v = args[argi++];
    std::string s;
    bool isInt = v && (v->is_number_integer());
    bool isNum = v && v->is_number();
    switch (verb) {
      case 'v':
        s = v ? formatV(*v) : "<nil>";
        if (plus && isNum && !s.starts_with('-')) s = "+" + s;
        break;
      case 's':
        if (v && v->is_string()) {
          s = v->get<std::string>();
          if (prec >= 0) {
            size_t pos = 0, n = 0;
            while (pos < s.size() && n < static_cast<size_t>(prec)) {
              size_t l;
              decodeRune(s, pos, &l);
              pos += l;
              ++n;
            }
            s.resize(pos);
          }
        } else if (v && (v->is_array() || v->is_object())) {
          s = formatV(*v);
        } else {
          s = badVerb(verb, v);
        }
        break;
      case 'q':
        if (v && v->is_string()) {
          s = goQuote(v->get<std::string>());
        } else if (isInt) {
          std::string r;
          appendRune(r, static_cast<char32_t>(v->get<int64_t>()));
          s = "'" + r + "'";
        } else {
          s = badVerb(verb, v);
        }
        break;
      case 'd':
        if (isInt) {
          s = v->is_number_unsigned() ? std::to_string(v->get<uint64_t>()) : std::to_string(v->get<int64_t>());
          if (plus && !s.starts_with('-')) s = "+" + s;
          else if (space && !s.starts_with('-')) s = " " + s;
        } else {
          s = badVerb(verb, v);
        }
        break;
      case 'x':
      case 'X':
        if (isInt) {
          int64_t n = v->get<int64_t>();
          s = verb == 'x' ? fmt::format("{:x}", n) : fmt::format("{:X}", n);
          if (sharp) s = (verb == 'x' ? "0x" : "0X") + s;
        } else if (v && v->is_string()) {
          for (unsigned char c : v->get<std::string>()) s += verb == 'x' ? fmt::format("{:02x}", c) : fmt::format("{:02X}", c);
        } else {
          s = badVerb(verb, v);
        }
        break;
      case 'c':
        if (isInt) appendRune(s, static_cast<char32_t>(v->get<int64_t>()));
        else s = badVerb(verb, v);
        break;
      case 't':
        if (v && v->is_boolean()) s = v->get<bool>() ? "true" : "false";
        else s = badVerb(verb, v);
        break;
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G':
        if (isNum) {
          double d = v->get<double>();
          if ((verb == 'g' || verb == 'G') && prec < 0) {
            s = goFloat(d);
            if (verb == 'G') std::transform(s.begin(), s.end(), s.begin(), ::toupper);
          } else {
            char spec[16];
            std::snprintf(spec, sizeof spec, "%%%s.%d%c", plus ? "+" : "", prec < 0 ? 6 : prec, verb);
            char buf[512];
            std::snprintf(buf, sizeof buf, spec, d);
            s = buf;
          }
        } else {
          s = badVerb(verb, v);
        }
        break;
      default:
        s = badVerb(verb, v);
        break;
    }
    out += pad(std::move(s), width, minus, zero && !minus && verb != 's' && verb != 'v' && verb != 'q');
  }
  if (argi < args.size()) {
    out += "%!(EXTRA ";
    for (size_t k = argi; k < args.size(); ++k) {
      if (k > argi) out += ", ";
      const Value* v = args[k];
      out += v && !v->is_null() ? goTypeName(*v) + "=" + formatV(*v) : "<nil>";
    }
    out += ")";
  }
  return out;
}

}  // namespace detail

std::string goJson(const Value& v) {
  std::string out;
  detail::jsonValue(out, v);
  return out;
}

}  // namespace berth::cli::format
