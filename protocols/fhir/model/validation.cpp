#include "protocols/fhir/model/validation.hpp"

#include <string_view>

#include "protocols/fhir/model/definitions.hpp"
#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/model/primitives.hpp"
#include "protocols/fhir/model/xml.hpp"

namespace cg::fhir {
namespace {

namespace json = boost::json;

// Recursion bound; parse_json already limits depth, but objects may be built in code.
constexpr int kMaxDepth = 100;

std::string_view sv(json::string_view s) {
  return {s.data(), s.size()};
}

std::string join(std::string_view parent, std::string_view name) {
  std::string p;
  p.reserve(parent.size() + name.size() + 1);
  p += parent;
  p += '.';
  p += name;
  return p;
}

std::string indexed(std::string_view path, std::size_t i) {
  std::string p(path);
  p += '[';
  p += std::to_string(i);
  p += ']';
  return p;
}

bool is_integer_type(PrimitiveType p) {
  return p == PrimitiveType::kInteger || p == PrimitiveType::kPositiveInt ||
         p == PrimitiveType::kUnsignedInt;
}

class StructureValidator {
 public:
  std::vector<ValidationIssue> run(const json::object& resource) {
    validate_resource(resource, "", 0);
    return std::move(issues_);
  }

 private:
  bool full() const { return issues_.size() >= kMaxValidationIssues; }

  void add(std::string_view code, std::string message, std::string path) {
    if (!full()) issues_.push_back({std::string(code), std::move(message), std::move(path)});
  }

  // `path` is where the resource sits ("Bundle.entry[0].resource"), empty for the root.
  void validate_resource(const json::object& resource, std::string_view path, int depth) {
    const json::value* rt = resource.if_contains("resourceType");
    if (!rt || !rt->is_string()) {
      add("required", "resourceType is missing", path.empty() ? "resourceType" : std::string(path));
      return;
    }
    const std::string_view type_name = sv(rt->get_string());
    if (!is_resource_type(type_name)) {
      add("structure", "unknown resourceType '" + std::string(type_name) + "'",
          path.empty() ? "resourceType" : std::string(path));
      return;
    }
    validate_object(resource, *find_type(type_name),
                    path.empty() ? std::string(type_name) : std::string(path), depth);
  }

  void validate_object(const json::object& obj, TypeId type, const std::string& path, int depth) {
    if (depth > kMaxDepth) return add("structure", "nesting too deep", path);
    const TypeDef& t = type_def(type);
    if (obj.empty()) return add("structure", "empty object", path);
    // Which elements were seen, and under which property name (choice elements).
    std::vector<std::string_view> seen(t.elements.size());
    for (const auto& kv : obj) {
      if (full()) return;
      const std::string_view key = sv(kv.key());
      if (t.kind == TypeKind::kResource && key == "resourceType") continue;
      validate_property(obj, key, kv.value(), type, seen, path, depth);
    }
    for (std::size_t i = 0; i < t.elements.size(); ++i) {
      const ElementDef& e = t.elements[i];
      if (e.min > 0 && seen[i].empty()) {
        add("required",
            "missing required element '" + std::string(e.name) + (e.is_choice ? "[x]'" : "'"),
            join(path, e.is_choice ? std::string(e.name) + "[x]" : std::string(e.name)));
      }
    }
  }

  void validate_property(const json::object& obj, std::string_view key, const json::value& value,
                         TypeId type, std::vector<std::string_view>& seen, const std::string& path,
                         int depth) {
    const bool is_extension = key.size() > 1 && key[0] == '_';
    const std::string_view name = is_extension ? key.substr(1) : key;
    auto match = find_element(type, name);
    if (!match || (is_extension && type_def(match->type).kind != TypeKind::kPrimitive)) {
      return add("structure", "unknown element '" + std::string(key) + "'", join(path, key));
    }
    // A primitive's value and its `_name` are checked together, once.
    const json::value* ext = is_extension ? &value : obj.if_contains("_" + std::string(name));
    const json::value* val = is_extension ? obj.if_contains(name) : &value;
    if (is_extension && val) return;
    std::string_view& first = seen[match->index];
    if (!first.empty() && first != name) {
      return add("structure",
                 "only one type is allowed for choice element '" +
                     std::string(match->element->name) + "[x]'",
                 join(path, name));
    }
    first = name;
    validate_member(val, ext, *match, join(path, name), depth);
  }

  void validate_member(const json::value* val, const json::value* ext, const ElementMatch& m,
                       const std::string& path, int depth) {
    if (!m.element->is_array()) {
      if ((val && val->is_array()) || (ext && ext->is_array())) {
        return add("structure", "an array where at most one value is allowed", path);
      }
      if (val && val->is_null()) return add("structure", "null value", path);
      return validate_value(val, ext, m.type, path, depth);
    }
    const json::array* values = val && val->is_array() ? &val->get_array() : nullptr;
    const json::array* exts = ext && ext->is_array() ? &ext->get_array() : nullptr;
    if ((val && !values) || (ext && !exts)) return add("structure", "must be an array", path);
    if ((values && values->empty()) || (exts && exts->empty())) {
      return add("structure", "empty array", path);
    }
    if (values && exts && values->size() != exts->size()) {
      return add("structure", "value and extension arrays differ in length", path);
    }
    const std::size_t n = values ? values->size() : exts->size();
    for (std::size_t i = 0; i < n && !full(); ++i) {
      validate_value(values ? &(*values)[i] : nullptr, exts ? &(*exts)[i] : nullptr, m.type,
                     indexed(path, i), depth);
    }
  }

  // One value (null/absent when only its extension is there) and its `_name` counterpart.
  void validate_value(const json::value* val, const json::value* ext, TypeId type,
                      const std::string& path, int depth) {
    if (val && val->is_null()) val = nullptr;
    if (ext && ext->is_null()) ext = nullptr;
    const TypeDef& t = type_def(type);
    if (t.kind != TypeKind::kPrimitive) {
      if (!val || !val->is_object()) return add("structure", "must be an object", path);
      if (t.kind == TypeKind::kResource)
        return validate_resource(val->get_object(), path, depth + 1);
      return validate_object(val->get_object(), type, path, depth + 1);
    }
    if (!val && !ext) return add("structure", "neither a value nor an extension", path);
    if (val) validate_primitive(*val, t, path);
    if (ext) {
      if (!ext->is_object()) return add("structure", "primitive extension must be an object", path);
      // Shaped like Element: the primitive type's own elements are id and extension.
      validate_object(ext->get_object(), type, path, depth + 1);
    }
  }

  void validate_primitive(const json::value& v, const TypeDef& t, const std::string& path) {
    const PrimitiveType p = t.primitive;
    if (p == PrimitiveType::kBoolean) {
      if (!v.is_bool()) add("value", "must be a JSON boolean", path);
      return;
    }
    if (is_integer_type(p) || p == PrimitiveType::kDecimal) {
      auto text = number_text(v);
      const bool fits =
          text && (p == PrimitiveType::kDecimal || !is_decimal(v)) && is_valid_primitive(p, *text);
      if (!fits) add("value", "not a valid " + std::string(t.name), path);
      return;
    }
    if (!v.is_string()) return add("value", "must be a JSON string", path);
    if (is_decimal(v)) return add("value", "a number where a string is expected", path);
    const std::string_view text = sv(v.get_string());
    if (text.empty()) return add("value", "empty string", path);
    if (p == PrimitiveType::kXhtml) {
      if (Status s = check_narrative_div(text); !s) add("value", s.error().message, path);
      return;
    }
    if (!is_valid_primitive(p, text)) add("value", "not a valid " + std::string(t.name), path);
  }

  std::vector<ValidationIssue> issues_;
};

}  // namespace

std::vector<ValidationIssue> validate_structure(const json::object& resource) {
  return StructureValidator().run(resource);
}

}  // namespace cg::fhir
