#include "protocols/fhir/fhirpath/item.hpp"

#include <boost/json/object.hpp>

#include "protocols/fhir/model/json.hpp"

namespace cg::fhirpath {
namespace {

namespace json = boost::json;
using fhir::PrimitiveType;

std::optional<Decimal> decimal_of(const json::value& v) {
  if (v.is_int64()) return Decimal::from_int(v.get_int64());
  if (v.is_uint64()) return Decimal{static_cast<long double>(v.get_uint64()), 0};
  if (v.is_double()) return Decimal{static_cast<long double>(v.get_double()), 8};
  if (auto text = fhir::number_text(v)) return Decimal::parse(*text);
  return std::nullopt;
}

std::optional<Item> scalar_from_json(const json::value& v) {
  if (v.is_bool()) return Item::boolean(v.get_bool());
  if (v.is_int64()) return Item::integer(v.get_int64());
  if (v.is_uint64()) return Item::decimal(Decimal{static_cast<long double>(v.get_uint64()), 0});
  if (fhir::is_number(v) || v.is_double()) {
    if (auto d = decimal_of(v)) return Item::decimal(*d);
    return std::nullopt;
  }
  if (v.is_string()) return Item::string(std::string(v.get_string()));
  return std::nullopt;
}

bool is_quantity_type(fhir::TypeId t) {
  static const fhir::TypeId kQuantity = fhir::find_type("Quantity").value_or(fhir::kNoType);
  for (int guard = 0; t != fhir::kNoType && guard < 16; ++guard) {
    if (t == kQuantity) return true;
    t = fhir::type_def(t).base;
  }
  return false;
}

std::optional<Item> quantity_from_json(const json::object& obj) {
  const json::value* value = obj.if_contains("value");
  if (!value) return std::nullopt;
  auto d = decimal_of(*value);
  if (!d) return std::nullopt;
  Quantity q;
  q.value = *d;
  const json::value* code = obj.if_contains("code");
  const json::value* unit = obj.if_contains("unit");
  const json::value* system = obj.if_contains("system");
  const bool ucum =
      system && system->is_string() && system->get_string() == "http://unitsofmeasure.org";
  if (code && code->is_string() && (ucum || !system)) {
    q.unit = std::string(code->get_string());
  } else if (unit && unit->is_string()) {
    q.unit = std::string(unit->get_string());
    if (!calendar_unit(q.unit).empty()) q.calendar = true;
  } else {
    q.unit = std::string(1, '1');  // not = "1": GCC 12 -O2 warns falsely (-Wrestrict)
  }
  return Item::quantity(std::move(q));
}

}  // namespace

ItemKind Item::kind() const {
  switch (v_.index()) {
    case 0:
      return ItemKind::kNode;
    case 1:
      return ItemKind::kBoolean;
    case 2:
      return ItemKind::kInteger;
    case 3:
      return ItemKind::kDecimal;
    case 4:
      return ItemKind::kString;
    case 5:
      switch (std::get<Temporal>(v_).kind) {
        case TemporalKind::kDate:
          return ItemKind::kDate;
        case TemporalKind::kDateTime:
          return ItemKind::kDateTime;
        case TemporalKind::kTime:
          return ItemKind::kTime;
      }
      return ItemKind::kDateTime;
    case 6:
      return ItemKind::kQuantity;
    default:
      return ItemKind::kTypeInfo;
  }
}

std::optional<Item> to_system(const Item& item) {
  if (!item.is_node()) return item;
  const Node& n = item.as_node();
  if (!n.value || n.value->is_null()) return std::nullopt;
  const json::value& v = *n.value;
  if (n.type == fhir::kNoType) return scalar_from_json(v);
  const fhir::TypeDef& def = fhir::type_def(n.type);
  if (def.primitive == PrimitiveType::kNone) {
    if (v.is_object() && is_quantity_type(n.type)) return quantity_from_json(v.get_object());
    return std::nullopt;
  }
  switch (def.primitive) {
    case PrimitiveType::kBoolean:
      if (v.is_bool()) return Item::boolean(v.get_bool());
      break;
    case PrimitiveType::kInteger:
    case PrimitiveType::kPositiveInt:
    case PrimitiveType::kUnsignedInt:
      if (v.is_int64()) return Item::integer(v.get_int64());
      break;
    case PrimitiveType::kDecimal:
      if (auto d = decimal_of(v)) return Item::decimal(*d);
      break;
    case PrimitiveType::kDate:
      if (v.is_string()) {
        if (auto t = Temporal::parse_date(std::string_view(v.get_string())))
          return Item::temporal(*t);
      }
      break;
    case PrimitiveType::kDateTime:
    case PrimitiveType::kInstant:
      if (v.is_string()) {
        if (auto t = Temporal::parse_date_time(std::string_view(v.get_string()))) {
          return Item::temporal(*t);
        }
      }
      break;
    case PrimitiveType::kTime:
      if (v.is_string()) {
        if (auto t = Temporal::parse_time(std::string_view(v.get_string())))
          return Item::temporal(*t);
      }
      break;
    default:
      if (v.is_string()) return Item::string(std::string(v.get_string()));
      break;
  }
  return scalar_from_json(v);
}

TypeInfo type_of(const Item& item) {
  if (item.is_node()) {
    const Node& n = item.as_node();
    if (n.type != fhir::kNoType) {
      const fhir::TypeDef& def = fhir::type_def(n.type);
      if (def.kind == fhir::TypeKind::kBackbone) return {"FHIR", "BackboneElement"};
      return {"FHIR", std::string(def.name)};
    }
    auto sys = to_system(item);
    if (!sys) return {"FHIR", "Element"};
    return type_of(*sys);
  }
  switch (item.kind()) {
    case ItemKind::kBoolean:
      return {"System", "Boolean"};
    case ItemKind::kInteger:
      return {"System", "Integer"};
    case ItemKind::kDecimal:
      return {"System", "Decimal"};
    case ItemKind::kString:
      return {"System", "String"};
    case ItemKind::kDate:
      return {"System", "Date"};
    case ItemKind::kDateTime:
      return {"System", "DateTime"};
    case ItemKind::kTime:
      return {"System", "Time"};
    case ItemKind::kQuantity:
      return {"System", "Quantity"};
    default:
      return {"System", "Object"};
  }
}

std::optional<std::string> to_string_value(const Item& item) {
  auto sys = to_system(item);
  if (!sys) return std::nullopt;
  switch (sys->kind()) {
    case ItemKind::kBoolean:
      return sys->as_bool() ? "true" : "false";
    case ItemKind::kInteger:
      return std::to_string(sys->as_integer());
    case ItemKind::kDecimal:
      return sys->as_decimal().to_string();
    case ItemKind::kString:
      return sys->as_string();
    case ItemKind::kDate:
    case ItemKind::kDateTime:
    case ItemKind::kTime:
      return sys->as_temporal().to_string();
    case ItemKind::kQuantity:
      return sys->as_quantity().to_string();
    default:
      return std::nullopt;
  }
}

json::value to_json(const Item& item) {
  if (item.is_node()) {
    const Node& n = item.as_node();
    return n.value ? *n.value : json::value(nullptr);
  }
  switch (item.kind()) {
    case ItemKind::kBoolean:
      return item.as_bool();
    case ItemKind::kInteger:
      return item.as_integer();
    case ItemKind::kDecimal:
      return fhir::make_decimal(item.as_decimal().to_string());
    case ItemKind::kString:
      return json::string(item.as_string());
    case ItemKind::kDate:
    case ItemKind::kDateTime:
    case ItemKind::kTime:
      return json::string(item.as_temporal().to_string());
    case ItemKind::kQuantity: {
      json::object o;
      o["value"] = fhir::make_decimal(item.as_quantity().value.to_string());
      o["unit"] = item.as_quantity().unit;
      return o;
    }
    default: {
      json::object o;
      o["namespace"] = item.as_type_info().ns;
      o["name"] = item.as_type_info().name;
      return o;
    }
  }
}

}  // namespace cg::fhirpath
