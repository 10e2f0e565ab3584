#pragma once
// A receiver with the gateway's HL7v2 handlers and queries over a store and an archive in a
// temp dir, for the gateway's HL7 tests. Identifier system: CLINIC → http://clinic.example/mrn.
// Hl7Gateway(true) also records the messages in an audit.db of its own (hl7_audit.hpp).

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "gateway/hl7_audit.hpp"
#include "gateway/hl7_handlers.hpp"
#include "gateway/hl7_queries.hpp"
#include "protocols/fhir/model/json.hpp"
#include "protocols/hl7v2/parser.hpp"
#include "storage/index_query.hpp"
#include "tests/storage/store_fixture.hpp"

namespace cg::gateway::testing {

struct Hl7Gateway {
  storage::testing::TempDir dir;
  std::unique_ptr<storage::ResourceStore> store =
      storage::testing::open_store(dir.path() / "clinical");
  std::unique_ptr<storage::MessageArchive> archive;
  std::unique_ptr<storage::AuditStore> audits;
  std::unique_ptr<AuditEmitter> emitter;
  std::unique_ptr<hl7v2::MessageReceiver> receiver;
  std::string peer = "test";  // the address messages come from
  int control = 0;

  explicit Hl7Gateway(bool audited = false) {
    storage::ArchiveConfig config;
    config.file = dir.path() / "clinical" / "clinical.db";
    archive = std::move(storage::MessageArchive::open(*store, config).value());
    Hl7Settings settings;
    settings.identifier_systems["CLINIC"] = "http://clinic.example/mrn";
    hl7v2::ReceiverConfig receiver_config;
    if (audited) {
      audits = std::move(storage::AuditStore::open({dir.path(), 1, 64, 1000, nullptr}).value());
      AuditEmitterConfig audit;
      audit.source = {"gw-test", "127.0.0.1"};
      emitter = std::make_unique<AuditEmitter>(*audits, store.get(), audit);
      receiver_config.audit = hl7_audit_hooks(*emitter, settings);
    }
    receiver = std::make_unique<hl7v2::MessageReceiver>(*archive, receiver_config);
    register_hl7_handlers(*receiver, *store, settings);
    register_hl7_queries(*receiver, *store, settings);
  }

  // Sends `body` (segments after the MSH) as a message of `type` with a new control id.
  hl7v2::Message send(const std::string& body, std::string_view type,
                      std::string_view sender = "EMR") {
    std::string message = "MSH|^~\\&|" + std::string(sender) + "|WARD|GW|GW|20261121||" +
                          std::string(type) + "|C" + std::to_string(++control) + "|P|2.5\r" + body;
    auto answer = hl7v2::parse(receiver->receive(message, peer));
    REQUIRE(answer.ok());
    return std::move(*answer);
  }

  // With Hl7Gateway(true): the stored audit records with a key `param` = `code` (any
  // system), newest first.
  std::vector<boost::json::object> audit_records(std::string param, std::string code) {
    REQUIRE(emitter->flush().ok());
    storage::AuditQuery q;
    q.all_of.push_back({std::move(param), {{"", "", std::move(code)}}});
    auto found = audits->search(q);
    REQUIRE(found.ok());
    std::vector<boost::json::object> out;
    for (const auto& a : *found) {
      out.push_back(fhir::parse_json(a.record.resource_json).value().as_object());
    }
    return out;
  }

  // The current resources of `type` with a token `param` = system|code.
  std::vector<storage::StoredVersion> find(std::string type, std::string param, std::string system,
                                           std::string code) {
    storage::IndexQuery q;
    q.types = {std::move(type)};
    storage::TokenCond t;
    t.param = std::move(param);
    t.system = std::move(system);
    t.code = std::move(code);
    q.where.all_of.push_back(storage::OrGroup{{storage::Condition{t}}});
    return store->search_index(q).value().matches;
  }
};

}  // namespace cg::gateway::testing
