#pragma once
// The values FHIRPath expressions produce: a Collection is an ordered list of Items, and an
// Item is either a node of the input JSON (a pointer into the caller's boost::json tree plus
// its FHIR type from the R4 definitions and, for primitives, the `_name` sibling holding
// id/extension) or a System value computed by the expression (Boolean, Integer, Decimal,
// String, Date, DateTime, Time, Quantity, or the TypeInfo that type() returns).
//
// Node items never copy JSON: they are valid only while the evaluated JSON (and anything a
// resolve callback returned) lives. Plain values; safe to move between threads.

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocols/fhir/fhirpath/value.hpp"
#include "protocols/fhir/model/definitions.hpp"

namespace cg::fhirpath {

enum class ItemKind : std::uint8_t {
  kNode,
  kBoolean,
  kInteger,
  kDecimal,
  kString,
  kDate,
  kDateTime,
  kTime,
  kQuantity,
  kTypeInfo,
};

struct Node {
  // The JSON value; nullptr (or a JSON null) for a primitive that has only id/extension.
  const boost::json::value* value = nullptr;
  // The `_name` companion object of a primitive (id, extension), or nullptr.
  const boost::json::value* extension = nullptr;
  fhir::TypeId type = fhir::kNoType;  // kNoType when the definitions do not know it
};

struct TypeInfo {
  std::string ns;  // "System" or "FHIR"
  std::string name;
};

class Item {
 public:
  static Item node(const boost::json::value* value, const boost::json::value* extension,
                   fhir::TypeId type) {
    return Item(Node{value, extension, type});
  }
  static Item boolean(bool b) { return Item(b); }
  static Item integer(std::int64_t i) { return Item(i); }
  static Item decimal(Decimal d) { return Item(d); }
  static Item string(std::string s) { return Item(std::move(s)); }
  static Item temporal(Temporal t) { return Item(t); }
  static Item quantity(Quantity q) { return Item(std::move(q)); }
  static Item type_info(TypeInfo t) { return Item(std::move(t)); }

  ItemKind kind() const;
  bool is_node() const { return v_.index() == 0; }

  const Node& as_node() const { return std::get<Node>(v_); }
  bool as_bool() const { return std::get<bool>(v_); }
  std::int64_t as_integer() const { return std::get<std::int64_t>(v_); }
  const Decimal& as_decimal() const { return std::get<Decimal>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const Temporal& as_temporal() const { return std::get<Temporal>(v_); }
  const Quantity& as_quantity() const { return std::get<Quantity>(v_); }
  const TypeInfo& as_type_info() const { return std::get<TypeInfo>(v_); }

 private:
  template <class T>
  explicit Item(T v) : v_(std::move(v)) {}
  std::variant<Node, bool, std::int64_t, Decimal, std::string, Temporal, Quantity, TypeInfo> v_;
};

using Collection = std::vector<Item>;

// The System value a node stands for (a FHIR boolean → Boolean, a Quantity-typed element →
// Quantity, ...); the item itself when it is already a System value; an empty optional for
// complex nodes and primitives without a value.
std::optional<Item> to_system(const Item& item);

// The FHIR or System type name of an item ("HumanName", "string", "Integer").
TypeInfo type_of(const Item& item);

// JSON rendering of a result for tools and tests: nodes as their JSON, System values as
// JSON scalars (decimals exact), dates as strings, quantities as {value, unit}.
boost::json::value to_json(const Item& item);
// The FHIRPath string form of a System value (toString()); empty for complex nodes.
std::optional<std::string> to_string_value(const Item& item);

}  // namespace cg::fhirpath
