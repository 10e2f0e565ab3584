#include "protocols/fhir/model/xml.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <pugixml.hpp>
#include <vector>

#include "protocols/fhir/model/definitions.hpp"
#include "protocols/fhir/model/json.hpp"

namespace cg::fhir {
namespace {

namespace json = boost::json;

constexpr std::string_view kFhirNamespace = "http://hl7.org/fhir";
constexpr std::string_view kXhtmlNamespace = "http://www.w3.org/1999/xhtml";
// Recursion bound for both directions; FHIR content nests far less deeply.
constexpr int kMaxDepth = 100;

std::string_view sv(json::string_view s) {
  return {s.data(), s.size()};
}
std::string_view sv(const json::string& s) {
  return {s.data(), s.size()};
}

bool is_integer_type(PrimitiveType p) {
  return p == PrimitiveType::kInteger || p == PrimitiveType::kPositiveInt ||
         p == PrimitiveType::kUnsignedInt;
}

bool is_resource_slot(TypeId type) {
  const TypeDef& t = type_def(type);
  return t.kind == TypeKind::kResource && t.is_abstract;
}

std::string child_path(std::string_view parent, std::string_view name) {
  std::string p(parent);
  p += '.';
  p += name;
  return p;
}

std::string indexed(std::string path, std::size_t i) {
  path += '[';
  path += std::to_string(i);
  path += ']';
  return path;
}

// Offset just past the element that starts at `lt` (a '<'), or npos. The text is already
// known to be well-formed, so this only has to skip comments, CDATA, processing
// instructions and quoted attribute values while counting start and end tags.
std::size_t element_end(std::string_view s, std::size_t lt) {
  int depth = 0;
  std::size_t i = lt;
  auto skip_past = [&](std::string_view terminator) {
    std::size_t e = s.find(terminator, i);
    i = e == std::string_view::npos ? s.size() : e + terminator.size();
  };
  while (i < s.size()) {
    if (s[i] != '<') {
      i = s.find('<', i);
      if (i == std::string_view::npos) return i;
      continue;
    }
    std::string_view rest = s.substr(i);
    if (rest.starts_with("<!--")) {
      skip_past("-->");
    } else if (rest.starts_with("<![CDATA[")) {
      skip_past("]]>");
    } else if (rest.starts_with("<?") || rest.starts_with("<!")) {
      skip_past(">");
    } else if (rest.starts_with("</")) {
      skip_past(">");
      if (--depth == 0) return i;
    } else {
      char quote = 0;
      std::size_t j = i + 1;
      for (; j < s.size(); ++j) {
        char c = s[j];
        if (quote) {
          if (c == quote) quote = 0;
        } else if (c == '"' || c == '\'') {
          quote = c;
        } else if (c == '>') {
          break;
        }
      }
      if (j >= s.size()) return std::string_view::npos;
      const bool empty = s[j - 1] == '/';
      i = j + 1;
      if (!empty) {
        ++depth;
      } else if (depth == 0) {
        return i;
      }
    }
  }
  return std::string_view::npos;
}

// pugixml flags that keep every node kind visible, so that DOCTYPE and stray
// declarations can be refused instead of silently dropped.
constexpr unsigned kParseFlags =
    pugi::parse_default | pugi::parse_doctype | pugi::parse_pi | pugi::parse_declaration;

Status parse_document(pugi::xml_document& doc, std::string_view text) {
  pugi::xml_parse_result r =
      doc.load_buffer(text.data(), text.size(), kParseFlags, pugi::encoding_utf8);
  if (!r) {
    return Error::invalid("malformed XML at byte " + std::to_string(r.offset) + ": " +
                          r.description());
  }
  for (pugi::xml_node n : doc.children()) {
    if (n.type() == pugi::node_doctype) {
      return Error::invalid("XML with a DOCTYPE is not accepted");
    }
  }
  return ok_status();
}

// ------------------------------------------------------------------------------------
// JSON → XML

void append_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      // Character references keep whitespace that attribute normalisation would turn
      // into spaces.
      case '\t':
        out += "&#9;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        out.push_back(c);
    }
  }
}

bool has_control_characters(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r';
  });
}

// One JSON property (and its `_name` sibling) waiting to be written.
struct PendingElement {
  std::size_t order;  // definition order of the element
  std::string_view name;
  const json::value* value = nullptr;
  const json::value* extension = nullptr;  // the `_name` property
  ElementMatch match;
};

class XmlWriter {
 public:
  Result<std::string> write_document(const json::object& resource) {
    out_.reserve(1024);
    out_ += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    Status s = write_resource(resource, true, "", 0);
    if (!s) return s.take_error();
    return std::move(out_);
  }

 private:
  Status write_resource(const json::object& resource, bool root, std::string_view path, int depth) {
    const json::value* rt = resource.if_contains("resourceType");
    if (!rt || !rt->is_string() || !is_resource_type(sv(rt->get_string()))) {
      return Error::invalid("missing or unknown resourceType", std::string(path));
    }
    const std::string_view type_name = sv(rt->get_string());
    const std::string here = path.empty() ? std::string(type_name) : std::string(path);
    return write_complex(type_name, resource, *find_type(type_name), here, depth,
                         root ? kFhirNamespace : std::string_view{});
  }

  // Writes <name attrs>children</name> for a complex, backbone or resource value.
  Status write_complex(std::string_view name, const json::object& obj, TypeId type,
                       const std::string& path, int depth, std::string_view xmlns = {}) {
    if (depth > kMaxDepth) return Error::invalid("nesting too deep", path);
    std::vector<PendingElement> pending;
    if (Status s = collect(obj, type, path, pending); !s) return s;

    out_ += '<';
    out_ += name;
    if (!xmlns.empty()) {
      out_ += " xmlns=\"";
      out_ += xmlns;
      out_ += '"';
    }
    bool has_children = false;
    for (const PendingElement& p : pending) {
      if (!p.match.element->is_xml_attr) {
        has_children = true;
        continue;
      }
      if (!p.value || !p.value->is_string() || p.extension) {
        return Error::invalid("must be a string", child_path(path, p.name));
      }
      if (Status s = write_attribute(p.name, sv(p.value->get_string()), path); !s) return s;
    }
    if (!has_children) {
      out_ += "/>";
      return ok_status();
    }
    out_ += '>';
    for (const PendingElement& p : pending) {
      if (p.match.element->is_xml_attr) continue;
      if (Status s = write_element(p, child_path(path, p.name), depth); !s) return s;
    }
    out_ += "</";
    out_ += name;
    out_ += '>';
    return ok_status();
  }

  // Resolves every property of obj against the definitions, in definition order.
  Status collect(const json::object& obj, TypeId type, const std::string& path,
                 std::vector<PendingElement>& pending) {
    const bool is_resource = type_def(type).kind == TypeKind::kResource;
    for (const auto& kv : obj) {
      std::string_view key = sv(kv.key());
      if (is_resource && key == "resourceType") continue;
      const bool is_extension = key.size() > 1 && key[0] == '_';
      std::string_view name = is_extension ? key.substr(1) : key;
      auto match = find_element(type, name);
      if (!match || (is_extension && type_def(match->type).kind != TypeKind::kPrimitive)) {
        return Error::invalid("unknown element", child_path(path, key));
      }
      auto it = std::find_if(pending.begin(), pending.end(),
                             [&](const PendingElement& p) { return p.name == name; });
      if (it == pending.end()) {
        pending.push_back({match->index, name, nullptr, nullptr, *match});
        it = std::prev(pending.end());
      }
      (is_extension ? it->extension : it->value) = &kv.value();
    }
    std::sort(pending.begin(), pending.end(), [](const auto& a, const auto& b) {
      return a.order != b.order ? a.order < b.order : a.name < b.name;
    });
    for (std::size_t i = 1; i < pending.size(); ++i) {
      if (pending[i].order == pending[i - 1].order) {
        return Error::invalid("more than one type for a choice element",
                              child_path(path, pending[i].name));
      }
    }
    return ok_status();
  }

  Status write_attribute(std::string_view name, std::string_view value, const std::string& path) {
    if (value.empty() || has_control_characters(value) || value[0] == kDecimalTag) {
      return Error::invalid("invalid attribute value", child_path(path, name));
    }
    out_ += ' ';
    out_ += name;
    out_ += "=\"";
    append_escaped(out_, value);
    out_ += '"';
    return ok_status();
  }

  Status write_element(const PendingElement& p, const std::string& path, int depth) {
    const ElementDef& def = *p.match.element;
    if (!def.is_array()) {
      if ((p.value && p.value->is_array()) || (p.extension && p.extension->is_array())) {
        return Error::invalid("an array where one value is allowed", path);
      }
      return write_value(p.name, p.value, p.extension, p.match.type, path, depth);
    }
    const json::array* values = p.value && p.value->is_array() ? &p.value->get_array() : nullptr;
    const json::array* extensions =
        p.extension && p.extension->is_array() ? &p.extension->get_array() : nullptr;
    if ((p.value && !values) || (p.extension && !extensions)) {
      return Error::invalid("must be an array", path);
    }
    const std::size_t n = values ? values->size() : extensions->size();
    if (values && extensions && extensions->size() != n) {
      return Error::invalid("value and extension arrays differ in length", path);
    }
    if (n == 0) return Error::invalid("empty array", path);
    for (std::size_t i = 0; i < n; ++i) {
      const json::value* v = values ? &(*values)[i] : nullptr;
      const json::value* e = extensions ? &(*extensions)[i] : nullptr;
      if (Status s = write_value(p.name, v, e, p.match.type, indexed(path, i), depth); !s) {
        return s;
      }
    }
    return ok_status();
  }

  Status write_value(std::string_view name, const json::value* v, const json::value* ext,
                     TypeId type, const std::string& path, int depth) {
    const TypeDef& t = type_def(type);
    if (t.kind == TypeKind::kPrimitive) return write_primitive(name, v, ext, t, path, depth);
    if (!v || !v->is_object()) return Error::invalid("must be an object", path);
    if (!is_resource_slot(type)) return write_complex(name, v->get_object(), type, path, depth + 1);
    out_ += '<';
    out_ += name;
    out_ += '>';
    if (Status s = write_resource(v->get_object(), false, path, depth + 1); !s) return s;
    out_ += "</";
    out_ += name;
    out_ += '>';
    return ok_status();
  }

  Status write_primitive(std::string_view name, const json::value* v, const json::value* ext,
                         const TypeDef& t, const std::string& path, int depth) {
    if (v && v->is_null()) v = nullptr;
    if (ext && ext->is_null()) ext = nullptr;
    if (!v && !ext) return Error::invalid("neither a value nor an extension", path);
    if (ext && !ext->is_object()) return Error::invalid("must be an object", "_" + path);
    if (t.primitive == PrimitiveType::kXhtml) {
      if (ext) return Error::invalid("narrative div cannot have extensions", path);
      return write_div(*v, path);
    }
    std::string text;
    if (v) {
      auto lexeme = primitive_text(*v, t.primitive);
      if (!lexeme) return Error::invalid("value does not fit type " + std::string(t.name), path);
      text = std::move(*lexeme);
    }
    out_ += '<';
    out_ += name;
    const json::value* extensions = nullptr;
    if (ext) {
      for (const auto& kv : ext->get_object()) {
        if (kv.key() == "id" && kv.value().is_string()) {
          if (Status s = write_attribute("id", sv(kv.value().get_string()), path); !s) return s;
        } else if (kv.key() == "extension") {
          extensions = &kv.value();
        } else {
          return Error::invalid("unknown element", child_path(path, sv(kv.key())));
        }
      }
    }
    if (v) {
      if (Status s = write_attribute("value", text, path); !s) return s;
    }
    if (!extensions) {
      out_ += "/>";
      return ok_status();
    }
    out_ += '>';
    PendingElement p{0, "extension", extensions, nullptr,
                     *find_element(*find_type("Element"), "extension")};
    if (Status s = write_element(p, child_path(path, "extension"), depth + 1); !s) return s;
    out_ += "</";
    out_ += name;
    out_ += '>';
    return ok_status();
  }

  // The JSON kind of a primitive must be its FHIR JSON representation.
  static std::optional<std::string> primitive_text(const json::value& v, PrimitiveType p) {
    if (p == PrimitiveType::kBoolean) {
      if (!v.is_bool()) return std::nullopt;
      return std::string(v.get_bool() ? "true" : "false");
    }
    if (is_integer_type(p)) {
      if (!v.is_int64() && !v.is_uint64()) return std::nullopt;
      return number_text(v);
    }
    if (p == PrimitiveType::kDecimal) return number_text(v);
    if (!v.is_string() || is_decimal(v)) return std::nullopt;
    return std::string(sv(v.get_string()));
  }

  Status write_div(const json::value& v, const std::string& path) {
    if (!v.is_string()) return Error::invalid("narrative div must be a string", path);
    std::string_view div = sv(v.get_string());
    if (Status s = check_narrative_div(div); !s) {
      return Error::invalid(s.error().message, path);
    }
    out_ += div;  // verbatim: XHTML is XML, and the JSON keeps its exact source text
    return ok_status();
  }

  std::string out_;
};

// ------------------------------------------------------------------------------------
// XML → JSON

bool is_namespace_attribute(std::string_view name) {
  // xmlns declarations and attributes from other namespaces (xsi:schemaLocation).
  return name == "xmlns" || name.find(':') != std::string_view::npos;
}

bool is_blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// Converts the lexeme of a numeric primitive exactly as parse_json would read it, so both
// codecs produce equal values (integers as int64, other numbers as tagged decimals).
std::optional<json::value> number_value(std::string_view lexeme, PrimitiveType p) {
  if (lexeme.empty()) return std::nullopt;
  if (is_integer_type(p)) {
    std::int64_t i = 0;
    auto r = std::from_chars(lexeme.data(), lexeme.data() + lexeme.size(), i);
    if (r.ec != std::errc() || r.ptr != lexeme.data() + lexeme.size()) return std::nullopt;
    return json::value(i);
  }
  if (lexeme.find_first_not_of("0123456789+-.eE") != std::string_view::npos) return std::nullopt;
  auto parsed = parse_json(lexeme);
  if (!parsed || !is_number(*parsed)) return std::nullopt;
  return std::move(*parsed);
}

class XmlReader {
 public:
  explicit XmlReader(std::string_view source) : source_(source) {}

  Result<json::object> read_resource(pugi::xml_node node, const std::string& path, int depth) {
    std::string_view type_name = node.name();
    if (!is_resource_type(type_name)) {
      return Error::invalid("unknown resource type", child_path(path, type_name));
    }
    json::object out;
    out["resourceType"] = type_name;
    const std::string here = path.empty() ? std::string(type_name) : path;
    if (Status s = read_members(node, *find_type(type_name), out, here, depth); !s) {
      return s.take_error();
    }
    return out;
  }

 private:
  // Reads the attributes and child elements of node as members of `type` into out.
  Status read_members(pugi::xml_node node, TypeId type, json::object& out, const std::string& path,
                      int depth) {
    if (depth > kMaxDepth) return Error::invalid("nesting too deep", path);
    for (pugi::xml_attribute a : node.attributes()) {
      std::string_view name = a.name();
      if (is_namespace_attribute(name)) continue;
      auto m = find_element(type, name);
      if (!m || !m->element->is_xml_attr) {
        return Error::invalid("unknown attribute", child_path(path, name));
      }
      out[name] = a.value();
    }
    std::vector<std::string_view> primitive_arrays;
    for (pugi::xml_node child : node.children()) {
      if (Status s = read_child(child, type, out, path, depth, primitive_arrays); !s) return s;
    }
    drop_all_null_arrays(out, primitive_arrays);
    return ok_status();
  }

  Status read_child(pugi::xml_node child, TypeId type, json::object& out, const std::string& path,
                    int depth, std::vector<std::string_view>& primitive_arrays) {
    if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata) {
      if (is_blank(child.value())) return ok_status();
      return Error::invalid("unexpected text", path);
    }
    if (child.type() != pugi::node_element) return ok_status();  // comments, PIs
    std::string_view name = child.name();
    auto m = find_element(type, name);
    if (!m || m->element->is_xml_attr)
      return Error::invalid("unknown element", child_path(path, name));
    const ElementDef& def = *m->element;
    const TypeDef& t = type_def(m->type);
    std::string here = child_path(path, name);
    json::value* existing = out.if_contains(name);
    if (!def.is_array() && existing) return Error::invalid("repeats but is allowed once", here);
    if (def.is_array())
      here = indexed(std::move(here), existing ? existing->get_array().size() : 0);

    if (t.kind != TypeKind::kPrimitive) {
      auto value = read_complex(child, m->type, here, depth + 1);
      if (!value) return value.take_error();
      store(out, name, def.is_array(), std::move(*value));
      return ok_status();
    }
    json::value value;
    json::value extension;
    if (Status s = read_primitive(child, t, here, depth, value, extension); !s) return s;
    if (!def.is_array()) {
      if (!value.is_null()) out[name] = std::move(value);
      if (!extension.is_null()) out["_" + std::string(name)] = std::move(extension);
      return ok_status();
    }
    // Arrays of primitives keep values and extensions aligned by position, with nulls.
    if (!existing) primitive_arrays.push_back(name);
    store(out, name, true, std::move(value));
    store(out, "_" + std::string(name), true, std::move(extension));
    return ok_status();
  }

  static void store(json::object& out, std::string_view name, bool array, json::value v) {
    if (!array) {
      out[name] = std::move(v);
      return;
    }
    json::value& slot = out[name];
    if (!slot.is_array()) slot = json::array();
    slot.get_array().push_back(std::move(v));
  }

  // `given: [null]` or `_given: [null, null]` carry nothing and are left out.
  static void drop_all_null_arrays(json::object& out, const std::vector<std::string_view>& names) {
    for (std::string_view name : names) {
      for (const std::string& key : {std::string(name), "_" + std::string(name)}) {
        const json::array& a = out.at(key).get_array();
        if (std::all_of(a.begin(), a.end(), [](const json::value& v) { return v.is_null(); })) {
          out.erase(key);
        }
      }
    }
  }

  Result<json::value> read_complex(pugi::xml_node node, TypeId type, const std::string& path,
                                   int depth) {
    if (!is_resource_slot(type)) {
      json::object obj;
      if (Status s = read_members(node, type, obj, path, depth); !s) return s.take_error();
      if (obj.empty()) return Error::invalid("element has no content", path);
      return json::value(std::move(obj));
    }
    // contained, Bundle.entry.resource, ...: exactly one resource element inside.
    pugi::xml_node inner;
    for (pugi::xml_node c : node.children()) {
      if (c.type() == pugi::node_element) {
        if (inner) return Error::invalid("more than one resource", path);
        inner = c;
      } else if ((c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) &&
                 !is_blank(c.value())) {
        return Error::invalid("unexpected text", path);
      }
    }
    if (!inner) return Error::invalid("missing resource", path);
    for (pugi::xml_attribute a : node.attributes()) {
      if (!is_namespace_attribute(a.name())) {
        return Error::invalid("unknown attribute", child_path(path, a.name()));
      }
    }
    auto r = read_resource(inner, path, depth + 1);
    if (!r) return r.take_error();
    return json::value(std::move(*r));
  }

  Status read_primitive(pugi::xml_node node, const TypeDef& t, const std::string& path, int depth,
                        json::value& value, json::value& extension) {
    if (t.primitive == PrimitiveType::kXhtml) return read_div(node, path, value);
    json::object ext;
    std::optional<std::string_view> text;
    for (pugi::xml_attribute a : node.attributes()) {
      std::string_view name = a.name();
      if (name == "value") {
        text = a.value();
      } else if (name == "id") {
        ext["id"] = a.value();
      } else if (!is_namespace_attribute(name)) {
        return Error::invalid("unknown attribute", child_path(path, name));
      }
    }
    // Children are the primitive's extensions; read them as members of the primitive.
    json::object children;
    std::vector<std::string_view> unused;
    for (pugi::xml_node child : node.children()) {
      if (child.type() == pugi::node_element && std::string_view(child.name()) != "extension") {
        return Error::invalid("unknown element", child_path(path, child.name()));
      }
      if (Status s =
              read_child(child, find_type(t.name).value(), children, path, depth + 1, unused);
          !s) {
        return s;
      }
    }
    if (auto* e = children.if_contains("extension")) ext["extension"] = std::move(*e);
    if (text) {
      auto v = primitive_value(*text, t.primitive);
      if (!v) return Error::invalid("value does not fit type " + std::string(t.name), path);
      value = std::move(*v);
    }
    if (!text && ext.empty()) return Error::invalid("element has no value or extension", path);
    if (!ext.empty()) extension = std::move(ext);
    return ok_status();
  }

  static std::optional<json::value> primitive_value(std::string_view text, PrimitiveType p) {
    if (p == PrimitiveType::kBoolean) {
      if (text == "true") return json::value(true);
      if (text == "false") return json::value(false);
      return std::nullopt;
    }
    if (is_integer_type(p) || p == PrimitiveType::kDecimal) return number_value(text, p);
    return json::value(json::string(text));
  }

  // The div is stored as its exact XHTML source text, taken from the input document.
  Status read_div(pugi::xml_node node, const std::string& path, json::value& value) {
    if (std::string_view(node.attribute("xmlns").value()) != kXhtmlNamespace) {
      return Error::invalid("narrative div must be in the XHTML namespace", path);
    }
    const std::ptrdiff_t name_offset = node.offset_debug();
    if (name_offset < 1) return Error::internal("no source offset for the narrative div");
    const std::size_t begin = static_cast<std::size_t>(name_offset) - 1;
    const std::size_t end = element_end(source_, begin);
    if (end == std::string_view::npos) return Error::invalid("unterminated narrative div", path);
    value = json::string(source_.substr(begin, end - begin));
    return ok_status();
  }

  std::string_view source_;
};

}  // namespace

Status check_narrative_div(std::string_view div) {
  if (!div.starts_with("<div")) return Error::invalid("narrative must be one <div> element");
  pugi::xml_document doc;
  if (Status s = parse_document(doc, div); !s) return s;
  pugi::xml_node root = doc.first_child();
  if (std::string_view(root.name()) != "div" || root.type() != pugi::node_element ||
      element_end(div, 0) != div.size()) {
    return Error::invalid("narrative must be one <div> element");
  }
  if (std::string_view(root.attribute("xmlns").value()) != kXhtmlNamespace) {
    return Error::invalid("narrative div must be in the XHTML namespace");
  }
  return ok_status();
}

Result<std::string> resource_to_xml(const json::object& resource) {
  return XmlWriter().write_document(resource);
}

Result<json::object> resource_from_xml(std::string_view xml) {
  if (xml.starts_with("\xEF\xBB\xBF")) xml.remove_prefix(3);  // UTF-8 byte order mark
  pugi::xml_document doc;
  if (Status s = parse_document(doc, xml); !s) return s.take_error();
  pugi::xml_node root = doc.document_element();
  if (!root) return Error::invalid("XML document has no root element");
  if (std::string_view(root.attribute("xmlns").value()) != kFhirNamespace) {
    return Error::invalid("root element is not in the FHIR namespace");
  }
  return XmlReader(xml).read_resource(root, "", 0);
}

}  // namespace cg::fhir
