#pragma once
// FHIRPath (N1, as used by FHIR R4): compile an expression once, evaluate it against FHIR
// JSON (boost::json in the form protocols/fhir/model/json.hpp produces) any number of times.
//
// compile() parses and checks an expression (functions, arity, type names) into an
// immutable Expression; evaluate() walks it over a focus value. Both are pure and never
// throw: syntax and semantic problems and run-time errors (a singleton expected where a
// collection has several items, incompatible operands) come back as Error::invalid with
// the character position in the message. A compiled Expression may be shared and
// evaluated concurrently from any number of threads; ExpressionCache is thread-safe.
//
// Model awareness comes from protocols/fhir/model/definitions.hpp: choice elements
// (`Observation.value` finds valueQuantity), is/as/ofType with FHIR and System type names,
// resource type names as path roots, primitive `_name` companions for id and extension.

#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "protocols/fhir/fhirpath/item.hpp"
#include "protocols/fhir/model/result.hpp"

namespace cg::fhirpath {

struct AstNode;

struct CompileLimits {
  std::size_t max_length = 16 * 1024;  // characters of expression text
  std::size_t max_depth = 64;          // nesting of parentheses, calls and operators
};

// A compiled expression. Immutable; share it through std::shared_ptr<const Expression>.
class Expression {
 public:
  Expression(std::string text, std::unique_ptr<AstNode> root);
  ~Expression();
  Expression(const Expression&) = delete;
  Expression& operator=(const Expression&) = delete;

  const std::string& text() const { return text_; }
  const AstNode& root() const { return *root_; }

 private:
  std::string text_;
  std::unique_ptr<AstNode> root_;
};

Result<std::shared_ptr<const Expression>> compile(std::string_view text, CompileLimits limits = {});

struct EvalContext {
  // %resource and %rootResource; when null, the focus is used (and %resource for root).
  const boost::json::value* resource = nullptr;
  const boost::json::value* root_resource = nullptr;
  // %name → value, for %vs-..., %ext-... and caller variables (names without the '%').
  std::map<std::string, Collection, std::less<>> variables;
  // The instant now()/today()/timeOfDay() report; read once per evaluation when unset.
  std::optional<std::chrono::system_clock::time_point> now;
  // resolve(): looks up a reference ("Patient/1", an absolute URL). The returned JSON must
  // stay alive for as long as the evaluation result is used. Contained ("#id") references
  // and Bundle entries (fullUrl) are resolved without it.
  std::function<const boost::json::value*(std::string_view reference)> resolve;
  // trace(name[, projection]) sink; nothing is traced when unset.
  std::function<void(std::string_view name, const Collection& values)> trace;
  // Strict mode: a member name the definitions do not know on a known type, or a choice
  // element addressed by its typed name (valueQuantity), is an error instead of empty.
  bool strict = false;
  // Upper bound on the items of any intermediate collection (repeat, descendants, ...).
  std::size_t max_collection_size = 100'000;
  // Upper bound on the work of one evaluation (expression nodes visited plus item
  // comparisons in distinct/union/intersect/...), so hostile expressions end with an error.
  std::size_t max_operations = 20'000'000;
};

// Evaluates `expr` with `focus` as the input collection (a single node; its FHIR type is
// taken from "resourceType"). Nothing in `focus` is copied: node items point into it.
Result<Collection> evaluate(const Expression& expr, const boost::json::value& focus,
                            const EvalContext& context = {});
// Same, for an already built input collection (may be empty).
Result<Collection> evaluate(const Expression& expr, const Collection& input,
                            const EvalContext& context = {});

// A bounded least-recently-used map from expression text to its compiled form. Compile
// errors are not cached. Thread-safe; get() holds the lock only for the lookup and insert,
// not while compiling.
class ExpressionCache {
 public:
  explicit ExpressionCache(std::size_t capacity = 1024) : capacity_(capacity ? capacity : 1) {}
  Result<std::shared_ptr<const Expression>> get(std::string_view text);
  std::size_t size() const;

 private:
  using Lru = std::list<std::pair<std::string, std::shared_ptr<const Expression>>>;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  Lru lru_;  // most recently used first
  std::unordered_map<std::string_view, Lru::iterator> index_;
};

}  // namespace cg::fhirpath
