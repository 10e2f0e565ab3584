#include "protocols/fhir/fhirpath/fhirpath.hpp"

#include <ctime>

#include "protocols/fhir/fhirpath/ast.hpp"
#include "protocols/fhir/fhirpath/evaluator.hpp"
#include "protocols/fhir/fhirpath/parser.hpp"

namespace cg::fhirpath {

Expression::Expression(std::string text, std::unique_ptr<AstNode> root)
    : text_(std::move(text)), root_(std::move(root)) {}
Expression::~Expression() = default;

Result<std::shared_ptr<const Expression>> compile(std::string_view text, CompileLimits limits) {
  auto root = parse_expression(text, limits);
  if (!root) return root.take_error();
  return std::shared_ptr<const Expression>(
      std::make_shared<Expression>(std::string(text), std::move(*root)));
}

namespace {

Temporal instant_of(std::chrono::system_clock::time_point tp) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  Temporal t;
  t.kind = TemporalKind::kDateTime;
  t.precision = TemporalPrecision::kMillisecond;
  t.year = tm.tm_year + 1900;
  t.month = tm.tm_mon + 1;
  t.day = tm.tm_mday;
  t.hour = tm.tm_hour;
  t.minute = tm.tm_min;
  t.second = tm.tm_sec;
  t.millisecond = static_cast<int>(((ms % 1000) + 1000) % 1000);
  t.has_tz = t.tz_is_z = true;
  return t;
}

Collection node_of(const boost::json::value* v) {
  if (!v) return {};
  return Collection{Item::node(v, nullptr, resource_type_of(*v))};
}

}  // namespace

Result<Collection> evaluate(const Expression& expr, const Collection& input,
                            const EvalContext& context) {
  Collection resource = context.resource ? node_of(context.resource) : input;
  Collection root = context.root_resource ? node_of(context.root_resource) : resource;
  const Temporal now = instant_of(context.now.value_or(std::chrono::system_clock::now()));
  Evaluator ev(context, input, std::move(resource), std::move(root), now);
  Frame frame;
  frame.this_items = input;
  return ev.eval(expr.root(), input, frame);
}

Result<Collection> evaluate(const Expression& expr, const boost::json::value& focus,
                            const EvalContext& context) {
  return evaluate(expr, node_of(&focus), context);
}

Result<std::shared_ptr<const Expression>> ExpressionCache::get(std::string_view text) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = index_.find(text); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  auto compiled = compile(text);
  if (!compiled) return compiled;
  std::lock_guard lock(mutex_);
  if (auto it = index_.find(text); it != index_.end()) return it->second->second;
  lru_.emplace_front(std::string(text), *compiled);
  index_.emplace(lru_.front().first, lru_.begin());
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return compiled;
}

std::size_t ExpressionCache::size() const {
  std::lock_guard lock(mutex_);
  return lru_.size();
}

}  // namespace cg::fhirpath
