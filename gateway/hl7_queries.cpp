#include "gateway/hl7_queries.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <memory>

#include "gateway/hl7_handlers.hpp"
#include "gateway/query_continuations.hpp"
#include "protocols/fhir/search/search_plan.hpp"
#include "protocols/fhir/search/search_query.hpp"
#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/pid_writer.hpp"
#include "protocols/hl7v2/query_params.hpp"
#include "protocols/hl7v2/query_response.hpp"
#include "storage/index_query.hpp"

namespace cg::gateway {
namespace {

namespace json = boost::json;
using hl7v2::AckCode;
using hl7v2::ErrorCode;
using hl7v2::Message;
using hl7v2::QueryStatus;

// Records in one PDQ answer at most, whatever RCP-2 asks: an answer is one MLLP frame, held
// in memory on both ends. More matches continue (DSC).
constexpr int kMaxRecordsPerAnswer = 100;
// Open continuations: how many and for how long (a pointer not used by then is dropped).
constexpr std::size_t kMaxOpenQueries = 1000;
constexpr std::int64_t kContinuationTtlMs = 10 * 60 * 1000;
// Patients sharing one identifier within one domain: more than one is a data error, but the
// PIX answer still needs to see them to merge their identifiers.
constexpr std::size_t kMaxPixMatches = 10;

struct QueryContext {
  explicit QueryContext(storage::ResourceStore& s) : store(s) {}
  storage::ResourceStore& store;
  hl7v2::IdentifierSystems systems;
  QueryContinuations continuations{kMaxOpenQueries, kContinuationTtlMs};
};

std::string sender_of(const Message& m) {
  return std::string(m.raw("MSH-3")) + "|" + std::string(m.raw("MSH-4"));
}

std::string qpd_of(const Message& m) {
  const hl7v2::Segment* qpd = m.find("QPD");
  std::string out;
  if (qpd == nullptr) return out;
  for (int field = 1; field <= qpd->field_count(); ++field) {
    out.append(qpd->raw(field)).push_back('|');
  }
  return out;
}

// One page of a Patient search with these parameters (strict: a parameter the search cannot
// honour is an error, never dropped), from `cursor` ("" = the first page).
Result<storage::IndexSearchPage> search_patients(storage::ResourceStore& store,
                                                 const std::vector<hl7v2::SearchParam>& params,
                                                 std::size_t count, const std::string& cursor) {
  std::vector<fhir::search::ParamView> views;
  views.reserve(params.size());
  for (const auto& p : params) views.push_back({p.name, p.value});
  auto request = fhir::search::parse_search(
      "Patient", std::span<const fhir::search::ParamView>(views), {}, /*strict=*/true);
  if (!request) return request.take_error();
  auto query = fhir::search::plan_search(*request);
  if (!query) return query.take_error();
  query->count = count;
  query->cursor = cursor;
  query->total = cursor.empty();
  return store.search_index(*query);
}

// A domain is known when it is configured or some patient has an identifier in it.
Result<bool> known_domain(QueryContext& ctx, const std::string& system) {
  for (const auto& [namespace_id, uri] : ctx.systems.by_namespace) {
    if (uri == system) return true;
  }
  auto page =
      search_patients(ctx.store, {{"identifier", hl7v2::search_escaped(system) + "|"}}, 1, "");
  if (!page) return page.take_error();
  return !page->matches.empty();
}

// ERR 204 for each unknown domain of QPD-`field` (ITI-9 and ITI-21 point at the repetition).
Result<std::vector<Error>> unknown_domains(QueryContext& ctx,
                                           const std::vector<hl7v2::QueryDomain>& domains,
                                           int field) {
  std::vector<Error> errors;
  for (const auto& domain : domains) {
    auto known = known_domain(ctx, domain.system);
    if (!known) return known.take_error();
    if (!*known) {
      errors.push_back(hl7v2::make_error(ErrorCode::kUnknownKeyIdentifier,
                                         "QPD-" + std::to_string(field) + " repetition " +
                                             std::to_string(domain.repetition) +
                                             " names a domain the gateway does not know",
                                         {"QPD", 1, field, domain.repetition, 0, 0}));
    }
  }
  return errors;
}

std::vector<std::string> systems_of(const std::vector<hl7v2::QueryDomain>& domains) {
  std::vector<std::string> out;
  for (const auto& d : domains) out.push_back(d.system);
  return out;
}

Result<json::object> resource_of(const storage::StoredVersion& version) {
  boost::system::error_code ec;
  json::value parsed = json::parse(version.json, ec);
  if (ec || !parsed.is_object()) {
    return Error::internal("stored Patient/" + version.id + " is not a JSON object");
  }
  return std::move(parsed.as_object());
}

// Errors of the search itself that the sender caused (too broad, a value the index cannot
// take) become an AE answer; the store being unavailable stays an error (AR, retry).
bool answerable(const Error& e) {
  return e.kind == ErrorKind::kInvalid;
}

class PdqAnswer {
 public:
  PdqAnswer(QueryContext& ctx, const Message& query, const hl7v2::AckOptions& options)
      : ctx_(ctx), query_(query), options_(options) {}

  Result<Message> build() {
    const auto domains = hl7v2::requested_domains(query_, 8, ctx_.systems);
    auto unknown = unknown_domains(ctx_, domains, 8);
    if (!unknown) return unknown.take_error();
    if (!unknown->empty()) return failed(*unknown);
    filter_.systems = systems_of(domains);
    auto position = start();
    if (!position) return failed({position.error()});
    auto page = search_patients(ctx_.store, params_, page_size(), position->cursor);
    if (!page) {
      if (!answerable(page.error())) return page.take_error();
      return failed({hl7v2::make_error(ErrorCode::kApplicationInternalError,
                                       "the query cannot be answered: " + page.error().message)});
    }
    return answer(*position, *page);
  }

 private:
  // Where the answer starts: a new query, or the continuation its DSC-1 points to.
  Result<OpenQuery> start() {
    OpenQuery position{
        sender_of(query_), std::string(query_.raw("QPD-2")), qpd_of(query_), "", 0, 0};
    auto params = hl7v2::pdq_search_params(query_, ctx_.systems);
    if (!params) return params.take_error();
    params_ = std::move(*params);
    params_.push_back({"active:not", "false"});  // merged-away patients are not answers
    if (!filter_.systems.empty()) {
      std::string any_of;
      for (const auto& system : filter_.systems) {
        any_of += (any_of.empty() ? "" : ",") + hl7v2::search_escaped(system) + "|";
      }
      params_.push_back({"identifier", std::move(any_of)});
    }
    const std::string pointer = query_.get("DSC-1");
    if (pointer.empty()) return position;
    auto open = ctx_.continuations.take(pointer, position.sender, position.query_tag, position.qpd);
    if (!open) {
      return hl7v2::make_error(ErrorCode::kUnknownKeyIdentifier,
                               "the continuation pointer is unknown or expired, or the query "
                               "differs from the one it continues; send the query without DSC",
                               {"DSC", 1, 1, 0, 0, 0});
    }
    return std::move(*open);
  }

  std::size_t page_size() const {
    return static_cast<std::size_t>(std::min(
        hl7v2::quantity_limit(query_).value_or(kMaxRecordsPerAnswer), kMaxRecordsPerAnswer));
  }

  Result<Message> answer(OpenQuery position, const storage::IndexSearchPage& page) {
    if (position.cursor.empty()) position.total = static_cast<int>(page.total);
    const int payload = static_cast<int>(page.matches.size());
    const int remaining = std::max(0, position.total - position.delivered - payload);
    Message response = hl7v2::query_response(
        query_, "K22", "RSP_K21", AckCode::kAccept,
        payload > 0 ? QueryStatus::kOk : QueryStatus::kNoData, {},
        {position.total, payload, page.next_cursor ? remaining : 0}, options_);
    int set_id = position.delivered;
    for (const auto& match : page.matches) {
      auto patient = resource_of(match);
      if (!patient) return patient.take_error();
      if (auto s = hl7v2::append_pid(response, *patient, ++set_id, filter_, ctx_.systems); !s) {
        return s.take_error();
      }
    }
    if (page.next_cursor) {
      position.cursor = *page.next_cursor;
      position.delivered += payload;
      if (auto s = hl7v2::append_continuation(response, ctx_.continuations.open(position)); !s) {
        return s.take_error();
      }
    }
    return response;
  }

  Message failed(const std::vector<Error>& errors) const {
    return hl7v2::query_response(query_, "K22", "RSP_K21", AckCode::kError, QueryStatus::kError,
                                 errors, {}, options_);
  }

  QueryContext& ctx_;
  const Message& query_;
  const hl7v2::AckOptions& options_;
  std::vector<hl7v2::SearchParam> params_;
  hl7v2::IdentifierFilter filter_;
};

class PixAnswer {
 public:
  PixAnswer(QueryContext& ctx, const Message& query, const hl7v2::AckOptions& options)
      : ctx_(ctx), query_(query), options_(options) {}

  Result<Message> build() {
    const auto domains = hl7v2::requested_domains(query_, 4, ctx_.systems);
    auto unknown = unknown_domains(ctx_, domains, 4);
    if (!unknown) return unknown.take_error();
    if (!unknown->empty()) return failed(*unknown);
    auto source = hl7v2::pix_source_identifier(query_, ctx_.systems);
    if (!source) return failed({source.error()});
    auto known = known_domain(ctx_, source->system);
    if (!known) return known.take_error();
    if (!*known) {
      return failed({hl7v2::make_error(ErrorCode::kUnknownKeyIdentifier,
                                       "the identifier's assigning authority is not known",
                                       {"QPD", 1, 3, 1, 4, 0})});
    }
    auto page = search_patients(ctx_.store,
                                {{"identifier", hl7v2::search_escaped(source->system) + "|" +
                                                    hl7v2::search_escaped(source->value)},
                                 {"active:not", "false"}},
                                kMaxPixMatches, "");
    if (!page) return page.take_error();
    if (page->matches.empty()) {
      return failed({hl7v2::make_error(ErrorCode::kUnknownKeyIdentifier,
                                       "no patient has this identifier", {"QPD", 1, 3, 1, 1, 0})});
    }
    hl7v2::IdentifierFilter filter{systems_of(domains), std::nullopt};
    // Without domains the answer is every other identifier: the one asked about is known.
    if (domains.empty()) filter.skip = *source;
    return answer(page->matches, filter);
  }

 private:
  // One PID listing the identifiers of every active patient holding the identifier asked
  // about (normally one; more are the same person registered twice), or NF without any.
  Result<Message> answer(const std::vector<storage::StoredVersion>& matches,
                         const hl7v2::IdentifierFilter& filter) {
    json::array identifiers;
    for (const auto& match : matches) {
      auto patient = resource_of(match);
      if (!patient) return patient.take_error();
      const json::value* list = patient->if_contains("identifier");
      if (!list || !list->is_array()) continue;
      for (const json::value& identifier : list->as_array()) {
        if (std::find(identifiers.begin(), identifiers.end(), identifier) == identifiers.end()) {
          identifiers.push_back(identifier);
        }
      }
    }
    const json::object merged{{"identifier", std::move(identifiers)}};
    const bool found = !hl7v2::listed_identifiers(merged, filter).empty();
    Message response =
        hl7v2::query_response(query_, "K23", "RSP_K23", AckCode::kAccept,
                              found ? QueryStatus::kOk : QueryStatus::kNoData, {}, {}, options_);
    if (found) {
      if (auto s = hl7v2::append_identifiers_pid(response, merged, filter, ctx_.systems); !s) {
        return s.take_error();
      }
    }
    return response;
  }

  Message failed(const std::vector<Error>& errors) const {
    return hl7v2::query_response(query_, "K23", "RSP_K23", AckCode::kError, QueryStatus::kError,
                                 errors, {}, options_);
  }

  QueryContext& ctx_;
  const Message& query_;
  const hl7v2::AckOptions& options_;
};

// QCN^J01: the sender is done with a query; its continuation is dropped.
Result<Message> cancel_query(QueryContext& ctx, const Message& cancel,
                             const hl7v2::AckOptions& options) {
  const std::string tag(cancel.raw("QID-1"));
  if (tag.empty()) {
    const Error errors[] = {hl7v2::make_error(ErrorCode::kRequiredFieldMissing,
                                              "QID-1 (the query tag to cancel) is empty",
                                              {"QID", 1, 1, 0, 0, 0})};
    return hl7v2::build_ack(cancel, AckCode::kError, errors, options);
  }
  ctx.continuations.cancel(sender_of(cancel), tag);
  return hl7v2::build_ack(cancel, AckCode::kAccept, {}, options);
}

}  // namespace

void register_hl7_queries(hl7v2::MessageReceiver& receiver, storage::ResourceStore& store,
                          const Hl7Settings& settings) {
  auto ctx = std::make_shared<QueryContext>(store);
  ctx->systems = identifier_systems(settings);
  receiver.answer_with("QBP^Q22", [ctx](const Message& query, const hl7v2::AckOptions& options) {
    return PdqAnswer(*ctx, query, options).build();
  });
  receiver.answer_with("QBP^Q23", [ctx](const Message& query, const hl7v2::AckOptions& options) {
    return PixAnswer(*ctx, query, options).build();
  });
  receiver.answer_with("QCN^J01", [ctx](const Message& cancel, const hl7v2::AckOptions& options) {
    return cancel_query(*ctx, cancel, options);
  });
}

}  // namespace cg::gateway
