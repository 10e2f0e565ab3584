#include "protocols/fhir/model/json.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <charconv>
#include <vector>

namespace cg::fhir {
namespace {

namespace json = boost::json;

// basic_parser handler that builds a value, keeping non-integer numbers as tagged lexemes.
struct DecimalKeepingHandler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  json::value_stack st;
  std::string number;  // lexeme of the number being read (it may arrive in parts)
  // Key count of every object as read, in the order objects end (post-order). An object
  // built with fewer members had a duplicate key, which value_stack silently collapses.
  std::vector<std::size_t> object_sizes;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&) {
    object_sizes.push_back(n);
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    number.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    number.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    number.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double, json::string_view s, json::error_code&) {
    number.append(s.data(), s.size());
    std::string tagged;
    tagged.reserve(number.size() + 1);
    tagged.push_back(kDecimalTag);
    tagged += number;
    number.clear();
    st.push_string(tagged);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

bool needs_escape(unsigned char c) {
  return c < 0x20 || c == '"' || c == '\\';
}

void write_escape(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    default:
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
  }
}

void write_string(std::string& out, std::string_view s) {
  out.push_back('"');
  // Runs of characters that need no escape (nearly all of them) are appended whole.
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!needs_escape(c)) continue;
    out.append(s.data() + run, i - run);
    write_escape(out, c);
    run = i + 1;
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

template <class Int>
void write_integer(std::string& out, Int i) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, i);
  out.append(buf, r.ptr);
}

void write_double(std::string& out, double d) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, d);  // shortest form that round-trips
  out.append(buf, r.ptr);
}

void newline(std::string& out, int indent) {
  out.push_back('\n');
  out.append(static_cast<std::size_t>(indent) * 2, ' ');
}

void write_value(std::string& out, const json::value& v, int indent) {
  const bool pretty = indent >= 0;
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      break;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      break;
    case json::kind::int64:
      write_integer(out, v.get_int64());
      break;
    case json::kind::uint64:
      write_integer(out, v.get_uint64());
      break;
    case json::kind::double_:
      write_double(out, v.get_double());
      break;
    case json::kind::string: {
      const auto& s = v.get_string();
      if (!s.empty() && s[0] == kDecimalTag) {
        out.append(s.data() + 1, s.size() - 1);
      } else {
        write_string(out, s);
      }
      break;
    }
    case json::kind::array: {
      const auto& a = v.get_array();
      out.push_back('[');
      bool first = true;
      for (const auto& e : a) {
        if (!first) out.push_back(',');
        first = false;
        if (pretty) newline(out, indent + 1);
        write_value(out, e, pretty ? indent + 1 : -1);
      }
      if (pretty && !a.empty()) newline(out, indent);
      out.push_back(']');
      break;
    }
    case json::kind::object: {
      const auto& o = v.get_object();
      out.push_back('{');
      bool first = true;
      for (const auto& kv : o) {
        if (!first) out.push_back(',');
        first = false;
        if (pretty) newline(out, indent + 1);
        write_string(out, kv.key());
        out.push_back(':');
        if (pretty) out.push_back(' ');
        write_value(out, kv.value(), pretty ? indent + 1 : -1);
      }
      if (pretty && !o.empty()) newline(out, indent);
      out.push_back('}');
      break;
    }
  }
}

// Walks `v` in post-order, matching each object against the key count it was read with.
bool has_duplicate_keys(const json::value& v, const std::vector<std::size_t>& sizes,
                        std::size_t& next) {
  if (const auto* arr = v.if_array()) {
    for (const auto& item : *arr) {
      if (has_duplicate_keys(item, sizes, next)) return true;
    }
  } else if (const auto* obj = v.if_object()) {
    for (const auto& kv : *obj) {
      if (has_duplicate_keys(kv.value(), sizes, next)) return true;
    }
    if (next >= sizes.size() || sizes[next++] != obj->size()) return true;
  }
  return false;
}

}  // namespace

Result<json::value> parse_json(std::string_view text, JsonLimits limits) {
  json::parse_options opts;
  opts.max_depth = limits.max_depth;
  json::basic_parser<DecimalKeepingHandler> parser(opts);
  parser.handler().st.reset();
  json::error_code ec;
  std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && used < text.size()) ec = json::error::extra_data;
  if (ec) {
    return Error::invalid("malformed JSON at byte " + std::to_string(used) + ": " + ec.message());
  }
  json::value value = parser.handler().st.release();
  std::size_t next = 0;
  // FHIR JSON must not repeat a property; keeping only one of two values would silently
  // drop clinical data.
  if (has_duplicate_keys(value, parser.handler().object_sizes, next)) {
    return Error::invalid("malformed JSON: an object repeats a property name");
  }
  return value;
}

void append_json_string(std::string& out, std::string_view text) {
  write_string(out, text);
}

std::string serialize_json(const json::value& value) {
  std::string out;
  out.reserve(256);
  write_value(out, value, -1);
  return out;
}

std::string serialize_json_pretty(const json::value& value) {
  std::string out;
  write_value(out, value, 0);
  return out;
}

json::value make_decimal(std::string_view lexeme) {
  std::string tagged(1, kDecimalTag);
  tagged += lexeme;
  return json::value(json::string(tagged));
}

bool is_decimal(const json::value& value) {
  return value.is_string() && !value.get_string().empty() && value.get_string()[0] == kDecimalTag;
}

std::optional<std::string> number_text(const json::value& value) {
  if (is_decimal(value)) {
    const auto& s = value.get_string();
    return std::string(s.data() + 1, s.size() - 1);
  }
  if (value.is_int64() || value.is_uint64() || value.is_double()) return serialize_json(value);
  return std::nullopt;
}

bool is_number(const json::value& value) {
  return is_decimal(value) || value.is_int64() || value.is_uint64() || value.is_double();
}

}  // namespace cg::fhir
