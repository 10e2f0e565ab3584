// Expression walking, operators, equality and ordering.
#include "protocols/fhir/fhirpath/evaluator.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace cg::fhirpath {
namespace {

bool is_numeric(ItemKind k) {
  return k == ItemKind::kInteger || k == ItemKind::kDecimal;
}
bool is_temporal(ItemKind k) {
  return k == ItemKind::kDate || k == ItemKind::kDateTime || k == ItemKind::kTime;
}
Decimal as_dec(const Item& i) {
  return i.kind() == ItemKind::kInteger ? Decimal::from_int(i.as_integer()) : i.as_decimal();
}

// Whitespace-normalised, case-folded string for `~`.
std::string fold(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Scale of a quotient: enough digits to be exact up to 8, never fewer than the operands.
int quotient_scale(long double v, int min_scale) {
  for (int k = min_scale; k < 8; ++k) {
    const long double scaled = v * std::pow(10.0L, k);
    if (std::fabs(scaled - std::round(scaled)) < 1e-9L) return k;
  }
  return 8;
}

}  // namespace

std::optional<bool> items_equal(const Item& a0, const Item& b0) {
  // Complex nodes compare by JSON content.
  std::optional<Item> a = to_system(a0), b = to_system(b0);
  if (!a || !b) {
    if (a0.is_node() && b0.is_node() && a0.as_node().value && b0.as_node().value) {
      return *a0.as_node().value == *b0.as_node().value;
    }
    return false;
  }
  const ItemKind ka = a->kind(), kb = b->kind();
  if (is_numeric(ka) && is_numeric(kb)) {
    if (ka == ItemKind::kInteger && kb == ItemKind::kInteger) {
      return a->as_integer() == b->as_integer();
    }
    return decimal_equal(as_dec(*a), as_dec(*b));
  }
  if (is_temporal(ka) && is_temporal(kb)) {
    const Ordering o = temporal_compare(a->as_temporal(), b->as_temporal());
    if (!o) {
      if ((ka == ItemKind::kTime) != (kb == ItemKind::kTime)) return false;
      return std::nullopt;
    }
    return *o == 0;
  }
  if (ka != kb) return false;
  switch (ka) {
    case ItemKind::kBoolean:
      return a->as_bool() == b->as_bool();
    case ItemKind::kString:
      return a->as_string() == b->as_string();
    case ItemKind::kQuantity:
      return quantity_equal(a->as_quantity(), b->as_quantity());
    case ItemKind::kTypeInfo:
      return a->as_type_info().ns == b->as_type_info().ns &&
             a->as_type_info().name == b->as_type_info().name;
    default:
      return false;
  }
}

bool items_equivalent(const Item& a0, const Item& b0) {
  std::optional<Item> a = to_system(a0), b = to_system(b0);
  if (!a || !b) {
    if (a0.is_node() && b0.is_node() && a0.as_node().value && b0.as_node().value) {
      return *a0.as_node().value == *b0.as_node().value;
    }
    return false;
  }
  const ItemKind ka = a->kind(), kb = b->kind();
  if (is_numeric(ka) && is_numeric(kb)) return decimal_equivalent(as_dec(*a), as_dec(*b));
  if (is_temporal(ka) && is_temporal(kb)) {
    return temporal_equivalent(a->as_temporal(), b->as_temporal());
  }
  if (ka != kb) return false;
  switch (ka) {
    case ItemKind::kBoolean:
      return a->as_bool() == b->as_bool();
    case ItemKind::kString:
      return fold(a->as_string()) == fold(b->as_string());
    case ItemKind::kQuantity:
      return quantity_equivalent(a->as_quantity(), b->as_quantity()).value_or(false);
    default:
      return items_equal(*a, *b).value_or(false);
  }
}

std::optional<bool> collections_equal(const Collection& a, const Collection& b) {
  if (a.empty() || b.empty()) return std::nullopt;
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto eq = items_equal(a[i], b[i]);
    if (!eq) return std::nullopt;
    if (!*eq) return false;
  }
  return true;
}

namespace {
bool collections_equivalent(const Collection& a, const Collection& b) {
  if (a.size() != b.size()) return false;
  std::vector<bool> used(b.size(), false);
  for (const Item& x : a) {
    bool found = false;
    for (std::size_t j = 0; j < b.size() && !found; ++j) {
      if (!used[j] && items_equivalent(x, b[j])) used[j] = found = true;
    }
    if (!found) return false;
  }
  return true;
}

bool contains_item(const Collection& c, const Item& x) {
  return std::any_of(c.begin(), c.end(),
                     [&](const Item& y) { return items_equal(x, y).value_or(false); });
}
}  // namespace

Error Evaluator::error(const AstNode& at, std::string_view message) const {
  return Error::invalid("FHIRPath at " + std::to_string(at.position) + ": " + std::string(message));
}

Status Evaluator::check_size(const Collection& c, const AstNode& at) const {
  if (c.size() > ctx_.max_collection_size) return error(at, "collection too large");
  return ok_status();
}

Result<std::optional<bool>> Evaluator::as_boolean(const Collection& c, const AstNode& at) {
  if (c.empty()) return std::optional<bool>();
  if (c.size() > 1) return error(at, "expected a single Boolean, got a collection");
  auto sys = to_system(c[0]);
  if (sys && sys->kind() == ItemKind::kBoolean) return std::optional<bool>(sys->as_bool());
  return std::optional<bool>(true);  // a single non-Boolean item counts as true
}

Result<std::optional<Item>> Evaluator::singleton(const Collection& c, const AstNode& at) {
  if (c.empty()) return std::optional<Item>();
  if (c.size() > 1) return error(at, "expected a single item, got a collection");
  auto sys = to_system(c[0]);
  if (sys) return sys;
  return std::optional<Item>(c[0]);
}

Result<Collection> Evaluator::eval(const AstNode& n, std::span<const Item> input,
                                   const Frame& frame) {
  struct DepthGuard {
    explicit DepthGuard(std::size_t& d) : d_(d) { ++d_; }
    ~DepthGuard() { --d_; }
    std::size_t& d_;
  } guard(depth_);
  if (depth_ > 512) return error(n, "evaluation nested too deeply");
  if (!within_budget(1)) return error(n, "evaluation budget exceeded");
  switch (n.kind) {
    case AstNode::Kind::kLiteral:
      return Collection{*n.value};
    case AstNode::Kind::kEmpty:
      return Collection{};
    case AstNode::Kind::kThis:
      return Collection(frame.this_items.begin(), frame.this_items.end());
    case AstNode::Kind::kIndex:
      if (frame.index < 0) return Collection{};
      return Collection{Item::integer(frame.index)};
    case AstNode::Kind::kTotal:
      return frame.total ? *frame.total : Collection{};
    case AstNode::Kind::kExternal:
      return external(n);
    case AstNode::Kind::kMember: {
      if (!n.target) return member(n, input);
      auto base = eval(*n.target, input, frame);
      if (!base) return base;
      return member(n, *base);
    }
    case AstNode::Kind::kFunction:
      return call(n, input, frame);
    case AstNode::Kind::kIndexer: {
      if (auto st = check_ordered(n); !st) return st.take_error();
      auto base = eval(*n.target, input, frame);
      if (!base) return base;
      auto index = eval(*n.args[0], input, frame);
      if (!index) return index;
      auto i = singleton(*index, n);
      if (!i) return i.take_error();
      if (!*i) return Collection{};
      if ((*i)->kind() != ItemKind::kInteger) return error(n, "index must be an Integer");
      const std::int64_t k = (*i)->as_integer();
      if (k < 0 || static_cast<std::size_t>(k) >= base->size()) return Collection{};
      return Collection{(*base)[static_cast<std::size_t>(k)]};
    }
    case AstNode::Kind::kNegate: {
      auto operand = eval(*n.target, input, frame);
      if (!operand) return operand;
      auto v = singleton(*operand, n);
      if (!v) return v.take_error();
      if (!*v) return Collection{};
      const Item& x = **v;
      switch (x.kind()) {
        case ItemKind::kInteger:
          return Collection{Item::integer(-x.as_integer())};
        case ItemKind::kDecimal:
          return Collection{Item::decimal({-x.as_decimal().value, x.as_decimal().scale})};
        case ItemKind::kQuantity: {
          Quantity q = x.as_quantity();
          q.value.value = -q.value.value;
          return Collection{Item::quantity(std::move(q))};
        }
        default:
          return error(n, "unary minus needs a number or a quantity");
      }
    }
    case AstNode::Kind::kBinary:
      return binary(n, input, frame);
    case AstNode::Kind::kIs:
    case AstNode::Kind::kAs: {
      auto operand = eval(*n.target, input, frame);
      if (!operand) return operand;
      if (operand->empty()) return Collection{};
      if (n.kind == AstNode::Kind::kAs && operand->size() > 1 && !ctx_.strict) {
        // R4 search parameters apply `as` to collections (Observation.component.value as
        // Quantity): outside strict mode it filters every item, as fhirpath.js does.
        Collection out;
        for (const Item& x : *operand) {
          if (item_is(x, n.type, true)) out.push_back(x);
        }
        return out;
      }
      if (operand->size() > 1) return error(n, "is/as needs a single item");
      const Item& x = (*operand)[0];
      if (n.kind == AstNode::Kind::kIs) return Collection{Item::boolean(item_is(x, n.type, false))};
      if (item_is(x, n.type, true)) return Collection{x};
      return Collection{};
    }
  }
  return error(n, "unsupported expression");
}

namespace {

// The FHIR type a node's value is known to have before evaluation: the T of `x as T`,
// `x.as(T)` and `x.ofType(T)`.
fhir::TypeId static_type(const AstNode* n) {
  if (!n) return fhir::kNoType;
  const bool typed =
      n->kind == AstNode::Kind::kAs ||
      (n->kind == AstNode::Kind::kFunction &&
       (n->function == FunctionId::kAsFunction || n->function == FunctionId::kOfType));
  return typed ? n->type.fhir_type : fhir::kNoType;
}

bool starts_upper(std::string_view s) {
  return !s.empty() && s[0] >= 'A' && s[0] <= 'Z';
}

}  // namespace

Status Evaluator::check_ordered(const AstNode& n) const {
  // children() and descendants() have no defined order: in strict mode, order-dependent
  // functions directly on them are errors.
  const AstNode* t = n.target.get();
  if (!ctx_.strict || !t || t->kind != AstNode::Kind::kFunction) return ok_status();
  if (t->function != FunctionId::kChildren && t->function != FunctionId::kDescendants) {
    return ok_status();
  }
  return error(n, "order-dependent operation on the unordered result of " + t->name + "()");
}

Result<Collection> Evaluator::member(const AstNode& n, std::span<const Item> input) {
  if (ctx_.strict) {
    // `(x as Period).unit` is wrong whether or not x is a Period at run time.
    const fhir::TypeId t = static_type(n.target.get());
    if (t != fhir::kNoType && !starts_upper(n.name) && !fhir::find_element_def(t, n.name)) {
      return error(n, "unknown element '" + n.name + "' on " + std::string(fhir::type_def(t).name));
    }
  }
  Collection out;
  for (const Item& item : input) {
    if (item.kind() == ItemKind::kTypeInfo) {
      if (n.name == "name") out.push_back(Item::string(item.as_type_info().name));
      if (n.name == "namespace") out.push_back(Item::string(item.as_type_info().ns));
      continue;
    }
    bool known = false;
    member_items(item, n.name, out, known);
    if (ctx_.strict && !known && item.is_node() && item.as_node().type != fhir::kNoType) {
      return error(n, "unknown element '" + n.name + "' on " +
                          std::string(fhir::type_def(item.as_node().type).name));
    }
  }
  if (auto st = check_size(out, n); !st) return st.take_error();
  return out;
}

Result<Collection> Evaluator::external(const AstNode& n) {
  if (auto it = ctx_.variables.find(n.name); it != ctx_.variables.end()) return it->second;
  const std::string& name = n.name;
  if (name == "resource") return resource_;
  if (name == "rootResource") return root_resource_;
  if (name == "context") return context_;
  if (name == "ucum") return Collection{Item::string("http://unitsofmeasure.org")};
  if (name == "sct") return Collection{Item::string("http://snomed.info/sct")};
  if (name == "loinc") return Collection{Item::string("http://loinc.org")};
  if (name.starts_with("vs-")) {
    return Collection{Item::string("http://hl7.org/fhir/ValueSet/" + name.substr(3))};
  }
  if (name.starts_with("ext-")) {
    return Collection{Item::string("http://hl7.org/fhir/StructureDefinition/" + name.substr(4))};
  }
  return error(n, "undefined variable %" + name);
}

Result<Collection> Evaluator::binary(const AstNode& n, std::span<const Item> input,
                                     const Frame& frame) {
  const BinaryOp op = n.op;
  auto lhs = eval(*n.args[0], input, frame);
  if (!lhs) return lhs;
  if (op == BinaryOp::kAnd || op == BinaryOp::kOr || op == BinaryOp::kImplies ||
      op == BinaryOp::kXor) {
    auto a = as_boolean(*lhs, n);
    if (!a) return a.take_error();
    // Short-circuit where the left side decides.
    if (op == BinaryOp::kAnd && *a == false) return Collection{Item::boolean(false)};
    if (op == BinaryOp::kOr && *a == true) return Collection{Item::boolean(true)};
    if (op == BinaryOp::kImplies && *a == false) return Collection{Item::boolean(true)};
    auto rhs = eval(*n.args[1], input, frame);
    if (!rhs) return rhs;
    auto b = as_boolean(*rhs, n);
    if (!b) return b.take_error();
    std::optional<bool> r;
    switch (op) {
      case BinaryOp::kAnd:
        if (*b == false)
          r = false;
        else if (*a && *b)
          r = true;
        break;
      case BinaryOp::kOr:
        if (*b == true)
          r = true;
        else if (*a && *b)
          r = false;
        break;
      case BinaryOp::kXor:
        if (*a && *b) r = **a != **b;
        break;
      default:  // implies, left true or empty
        if (*b == true)
          r = true;
        else if (*a && *b)
          r = false;
        break;
    }
    if (!r) return Collection{};
    return Collection{Item::boolean(*r)};
  }
  auto rhs = eval(*n.args[1], input, frame);
  if (!rhs) return rhs;
  Collection& a = *lhs;
  Collection& b = *rhs;
  switch (op) {
    case BinaryOp::kUnion: {
      Collection out;
      for (const Collection* c : {&a, &b}) {
        for (const Item& x : *c) {
          if (!within_budget(out.size())) return error(n, "evaluation budget exceeded");
          if (!contains_item(out, x)) out.push_back(x);
        }
      }
      return out;
    }
    case BinaryOp::kEq:
    case BinaryOp::kNe: {
      auto eq = collections_equal(a, b);
      if (!eq) return Collection{};
      return Collection{Item::boolean(op == BinaryOp::kEq ? *eq : !*eq)};
    }
    case BinaryOp::kEquiv:
    case BinaryOp::kNotEquiv: {
      const bool eq = collections_equivalent(a, b);
      return Collection{Item::boolean(op == BinaryOp::kEquiv ? eq : !eq)};
    }
    case BinaryOp::kIn:
    case BinaryOp::kContains: {
      Collection& element = op == BinaryOp::kIn ? a : b;
      Collection& container = op == BinaryOp::kIn ? b : a;
      if (element.empty()) return Collection{};
      if (element.size() > 1) return error(n, "membership needs a single item");
      return Collection{Item::boolean(contains_item(container, element[0]))};
    }
    case BinaryOp::kLt:
    case BinaryOp::kGt:
    case BinaryOp::kLe:
    case BinaryOp::kGe:
      return compare(n, a, b);
    default:
      return arithmetic(n, a, b);
  }
}

Result<Collection> Evaluator::compare(const AstNode& n, const Collection& a, const Collection& b) {
  auto x = singleton(a, n);
  if (!x) return x.take_error();
  auto y = singleton(b, n);
  if (!y) return y.take_error();
  if (!*x || !*y) return Collection{};
  const Item& p = **x;
  const Item& q = **y;
  const ItemKind kp = p.kind(), kq = q.kind();
  Ordering o;
  if (is_numeric(kp) && is_numeric(kq)) {
    o = decimal_compare(as_dec(p), as_dec(q));
  } else if (kp == ItemKind::kString && kq == ItemKind::kString) {
    o = p.as_string().compare(q.as_string());
  } else if (is_temporal(kp) && is_temporal(kq) &&
             (kp == ItemKind::kTime) == (kq == ItemKind::kTime)) {
    o = temporal_compare(p.as_temporal(), q.as_temporal());
  } else if (kp == ItemKind::kQuantity && kq == ItemKind::kQuantity) {
    o = quantity_compare(p.as_quantity(), q.as_quantity());
  } else {
    return error(n, "cannot compare " + type_of(p).name + " with " + type_of(q).name);
  }
  if (!o) return Collection{};
  bool r = false;
  switch (n.op) {
    case BinaryOp::kLt:
      r = *o < 0;
      break;
    case BinaryOp::kGt:
      r = *o > 0;
      break;
    case BinaryOp::kLe:
      r = *o <= 0;
      break;
    default:
      r = *o >= 0;
      break;
  }
  return Collection{Item::boolean(r)};
}

Result<Collection> Evaluator::arithmetic(const AstNode& n, const Collection& a,
                                         const Collection& b) {
  const BinaryOp op = n.op;
  auto x = singleton(a, n);
  if (!x) return x.take_error();
  auto y = singleton(b, n);
  if (!y) return y.take_error();
  if (op == BinaryOp::kConcat) {
    auto text = [&](const std::optional<Item>& i) -> Result<std::string> {
      if (!i) return std::string();
      if (i->kind() != ItemKind::kString) return error(n, "& needs strings");
      return i->as_string();
    };
    auto l = text(*x);
    if (!l) return l.take_error();
    auto r = text(*y);
    if (!r) return r.take_error();
    return Collection{Item::string(*l + *r)};
  }
  if (!*x || !*y) return Collection{};
  const Item& p = **x;
  const Item& q = **y;
  const ItemKind kp = p.kind(), kq = q.kind();
  if (kp == ItemKind::kInteger && kq == ItemKind::kInteger &&
      (op == BinaryOp::kAdd || op == BinaryOp::kSub || op == BinaryOp::kMul ||
       op == BinaryOp::kIntDiv || op == BinaryOp::kMod)) {
    const std::int64_t i = p.as_integer(), j = q.as_integer();
    std::int64_t r = 0;
    bool overflow = false;
    switch (op) {
      case BinaryOp::kAdd:
        overflow = __builtin_add_overflow(i, j, &r);
        break;
      case BinaryOp::kSub:
        overflow = __builtin_sub_overflow(i, j, &r);
        break;
      case BinaryOp::kMul:
        overflow = __builtin_mul_overflow(i, j, &r);
        break;
      case BinaryOp::kIntDiv:
        if (j == 0) return Collection{};
        if (i == INT64_MIN && j == -1) return error(n, "integer overflow");
        r = i / j;
        break;
      default:
        if (j == 0) return Collection{};
        if (j == -1) return Collection{Item::integer(0)};
        r = i % j;
        break;
    }
    if (overflow) return error(n, "integer overflow");
    return Collection{Item::integer(r)};
  }
  if (is_numeric(kp) && is_numeric(kq)) {
    const Decimal d = as_dec(p), e = as_dec(q);
    Decimal r;
    switch (op) {
      case BinaryOp::kAdd:
        r = {d.value + e.value, std::max(d.scale, e.scale)};
        break;
      case BinaryOp::kSub:
        r = {d.value - e.value, std::max(d.scale, e.scale)};
        break;
      case BinaryOp::kMul:
        r = {d.value * e.value, std::min(d.scale + e.scale, 18)};
        break;
      case BinaryOp::kDiv:
        if (e.value == 0) return Collection{};
        r.value = d.value / e.value;
        r.scale = quotient_scale(r.value, std::max(d.scale, e.scale));
        break;
      case BinaryOp::kIntDiv: {
        if (e.value == 0) return Collection{};
        const long double t = std::trunc(d.value / e.value);
        if (std::fabs(t) > 9e18L) return error(n, "integer overflow");
        return Collection{Item::integer(static_cast<std::int64_t>(t))};
      }
      case BinaryOp::kMod:
        if (e.value == 0) return Collection{};
        r = {std::fmod(d.value, e.value), std::max(d.scale, e.scale)};
        break;
      default:
        return error(n, "operator not defined for numbers");
    }
    if (!std::isfinite(r.value)) return error(n, "arithmetic overflow");
    return Collection{Item::decimal(r)};
  }
  if (kp == ItemKind::kString && kq == ItemKind::kString && op == BinaryOp::kAdd) {
    return Collection{Item::string(p.as_string() + q.as_string())};
  }
  if (is_temporal(kp) && kq == ItemKind::kQuantity &&
      (op == BinaryOp::kAdd || op == BinaryOp::kSub)) {
    auto t = temporal_add(p.as_temporal(), q.as_quantity(), op == BinaryOp::kSub);
    if (!t) return error(n, "cannot add '" + q.as_quantity().unit + "' to a date/time");
    return Collection{Item::temporal(*t)};
  }
  if (kp == ItemKind::kQuantity && kq == ItemKind::kQuantity) {
    std::optional<Quantity> r;
    if (op == BinaryOp::kAdd || op == BinaryOp::kSub) {
      r = quantity_add(p.as_quantity(), q.as_quantity(), op == BinaryOp::kSub);
    } else if (op == BinaryOp::kMul || op == BinaryOp::kDiv) {
      r = quantity_multiply(p.as_quantity(), q.as_quantity(), op == BinaryOp::kDiv);
    }
    if (!r) return Collection{};
    return Collection{Item::quantity(std::move(*r))};
  }
  if ((kp == ItemKind::kQuantity && is_numeric(kq)) ||
      (is_numeric(kp) && kq == ItemKind::kQuantity)) {
    if (op == BinaryOp::kMul || (op == BinaryOp::kDiv && kp == ItemKind::kQuantity)) {
      Quantity a1 = kp == ItemKind::kQuantity ? p.as_quantity() : Quantity{as_dec(p), "1", false};
      Quantity b1 = kq == ItemKind::kQuantity ? q.as_quantity() : Quantity{as_dec(q), "1", false};
      auto r = quantity_multiply(a1, b1, op == BinaryOp::kDiv);
      if (!r) return Collection{};
      return Collection{Item::quantity(std::move(*r))};
    }
  }
  return error(n, "operator not defined for " + type_of(p).name + " and " + type_of(q).name);
}

}  // namespace cg::fhirpath
