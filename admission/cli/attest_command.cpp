// attest_command.cpp: `modelgate attest {provenance|approval|test-result} MODEL|--digest sha256:HEX
// --private-key K ...`: sign an in-toto statement about a model's root digest (SLSA provenance v1,
// a modelgate approval, an in-toto test result) into a Sigstore bundle, and file it where the
// webhook looks (--store DIR → DIR/sha256/<hex>/<kind>-<key>.json) or write it to --output.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "admission/cli/cli_common.h"
#include "admission/cli/commands.h"
#include "base/limits.h"
#include "base/read_file.h"
#include "crypto/approval.h"
#include "crypto/attestation.h"
#include "crypto/bundle.h"
#include "crypto/encoding.h"
#include "crypto/keys.h"
#include "crypto/manifest.h"
#include "crypto/model_signature.h"
#include "crypto/model_walk.h"
#include "crypto/slsa_provenance.h"
#include "crypto/test_result.h"
#include "crypto/x509.h"

namespace modelgate::cli {

namespace {

namespace fs = std::filesystem;
using namespace modelgate::crypto;

enum class Kind { kProvenance, kApproval, kTestResult };

struct AttestArgs {
  Kind kind = Kind::kProvenance;
  std::string model;
  std::string digest;
  std::string signature_file = "model.sig";
  std::string private_key;
  std::optional<std::string> password;
  std::string store;
  std::string output;
  // provenance
  std::string builder_id;
  std::string build_type;
  std::vector<std::string> datasets;
  std::vector<std::string> base_models;
  std::vector<std::string> sources;
  std::string finished_on = "now";
  // approval
  std::string reviewer;
  std::string decision = "approved";
  std::string comment;
  std::string timestamp = "now";
  // test result
  std::string suite;
  std::string result;
  std::vector<std::string> passed;
  std::vector<std::string> failed;
  std::string url;
};

Result<std::int64_t> parse_time_flag(const std::string& flag, const std::string& text) {
  if (text == "now") {
    return static_cast<std::int64_t>(std::time(nullptr));
  }
  auto ms = parse_rfc3339_ms(text);
  if (!ms.ok()) {
    return make_error(Code::kMalformed, flag + ": expected RFC 3339 (2026-01-02T03:04:05Z) or \"now\"");
  }
  return ms.value() / 1000;
}

// parse_digest reads "sha256:<64 hex>".
Result<Sha256Digest> parse_digest(std::string_view text) {
  if (text.substr(0, 7) != "sha256:" || text.size() != 71 || !is_lower_hex(text.substr(7))) {
    return make_error(Code::kMalformed, "expected sha256:<64 lowercase hex digits>");
  }
  auto bytes = from_hex(text.substr(7));
  Sha256Digest d{};
  std::copy(bytes->begin(), bytes->end(), d.begin());
  return d;
}

// named_digest reads NAME=sha256:HEX.
Result<Dependency> named_digest(const std::string& flag, const std::string& text, const std::string& role) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return make_error(Code::kMalformed, flag + " " + quote_for_message(text) + ": expected NAME=sha256:HEX");
  }
  Dependency d;
  d.name = text.substr(0, eq);
  d.role = role;
  auto digest = parse_digest(text.substr(eq + 1));
  if (!digest.ok()) {
    return make_error(Code::kMalformed, flag + " " + quote_for_message(text) + ": " + digest.error().message);
  }
  d.sha256 = to_hex(digest.value());
  return d;
}

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::kProvenance: return "provenance";
    case Kind::kApproval: return "approval";
    case Kind::kTestResult: return "test-result";
  }
  return "attestation";
}

int run_attest(const AttestArgs& a) {
  if (a.model.empty() == a.digest.empty()) {
    return usage_error("give either MODEL or --digest sha256:HEX");
  }
  auto key = load_private_key_file(a.private_key, a.password);
  if (!key.ok()) {
    return usage_error("--private-key " + key.error().message);
  }
  ModelSigner signer = KeySigner{key.value()};
  if (auto ok = check_signer(signer); !ok.ok()) {
    // attest writes bundles like model.sig (ECDSA); attestations other tools sign with Ed25519 or
    // RSA keys still verify under publicKey signers and reviewer keys.
    return usage_error("--private-key: " + ok.error().message + "; attestations other tools sign with Ed25519 or "
                       "RSA keys verify, but modelgate attest signs with ECDSA");
  }
  Sha256Digest root{};
  std::string subject_name;
  if (!a.digest.empty()) {
    auto d = parse_digest(a.digest);
    if (!d.ok()) {
      return usage_error("--digest: " + d.error().message);
    }
    root = d.value();
    subject_name = a.digest.substr(7, 12);
  } else {
    auto r = model_root_digest(a.model, a.signature_file);
    if (!r.ok()) {
      const Error& e = r.error();
      return e.code == Code::kNotFound || e.code == Code::kIo ? usage_error(e.message)
                                                              : (print_error(e.message), kExitFailed);
    }
    root = r.value();
    subject_name = model_name_of(a.model);
  }

  std::string predicate_type;
  Json predicate;
  switch (a.kind) {
    case Kind::kProvenance: {
      Provenance p;
      p.predicate_type = std::string(kSlsaProvenanceV1);
      p.builder_id = a.builder_id;
      p.build_type = a.build_type;
      for (const auto& [flag, list, role] : {std::tuple{"--dataset", &a.datasets, "dataset"},
                                             std::tuple{"--base-model", &a.base_models, "base-model"},
                                             std::tuple{"--source", &a.sources, "source"}}) {
        for (const std::string& item : *list) {
          auto d = named_digest(flag, item, role);
          if (!d.ok()) {
            return usage_error(d.error().message);
          }
          p.dependencies.push_back(std::move(d).value());
        }
      }
      if (a.finished_on != "none") {
        auto t = parse_time_flag("--finished-on", a.finished_on);
        if (!t.ok()) {
          return usage_error(t.error().message);
        }
        p.finished_on = t.value();
      }
      predicate_type = std::string(kSlsaProvenanceV1);
      predicate = provenance_v1_predicate(p);
      break;
    }
    case Kind::kApproval: {
      Approval ap;
      ap.reviewer = a.reviewer;
      ap.decision = a.decision == "rejected" ? ApprovalDecision::kRejected : ApprovalDecision::kApproved;
      ap.comment = a.comment;
      auto t = parse_time_flag("--timestamp", a.timestamp);
      if (!t.ok()) {
        return usage_error(t.error().message);
      }
      ap.timestamp = t.value();
      predicate_type = std::string(kApprovalPredicateV1);
      predicate = approval_predicate(ap);
      break;
    }
    case Kind::kTestResult: {
      TestResult tr;
      tr.result = a.result == "PASSED" ? TestOutcome::kPassed
                                       : (a.result == "WARNED" ? TestOutcome::kWarned : TestOutcome::kFailed);
      tr.configuration_names = {a.suite};
      tr.url = a.url;
      tr.passed_tests = a.passed;
      tr.failed_tests = a.failed;
      predicate_type = std::string(kTestResultPredicateV01);
      predicate = test_result_predicate(tr);
      break;
    }
  }
  const std::string statement = build_statement(subject_name, root, predicate_type, predicate);
  auto bundle = sign_statement_bundle(statement, signer);
  if (!bundle.ok()) {
    print_error("cannot sign: " + bundle.error().message);
    return bundle.error().code == Code::kInternal ? kExitInternal : kExitFailed;
  }
  const std::string hex = to_hex(root);
  fs::path out;
  if (!a.output.empty()) {
    out = a.output;
  } else if (!a.store.empty()) {
    const std::string hint = public_key_hint(key->public_key()).substr(0, 12);
    out = fs::path(a.store) / "sha256" / hex / (std::string(kind_name(a.kind)) + "-" + hint + ".json");
    std::error_code ec;
    fs::create_directories(out.parent_path(), ec);
    if (ec) {
      return usage_error("--store: cannot create " + quote_for_message(out.parent_path().string()) + ": " +
                         ec.message());
    }
  }
  if (out.empty()) {
    std::printf("%s\n", bundle.value().c_str());
    return kExitOk;
  }
  if (auto w = write_atomically(out, bundle.value() + "\n"); !w.ok()) {
    return usage_error(w.error().message);
  }
  std::printf("%s attestation for sha256:%s written to %s\n", std::string(kind_name(a.kind)).c_str(), hex.c_str(),
              quote_for_message(out.string()).c_str());
  return kExitOk;
}

void add_common(CLI::App* sub, AttestArgs& a) {
  sub->add_option("model", a.model, "model directory (its root digest is computed like model_signing does)");
  sub->add_option("--digest", a.digest, "the model's root digest instead of MODEL (sha256:HEX)");
  sub->add_option("--signature-file", a.signature_file, "signature file name inside MODEL (default model.sig)");
  sub->add_option("--private-key,--private_key", a.private_key, "PEM private key (ECDSA P-256/384/521)")
      ->required();
  sub->add_option("--password", a.password, "password of an encrypted private key");
  sub->add_option("--store", a.store, "file the attestation in this evidence store (DIR/sha256/<hex>/)");
  sub->add_option("--output,-o", a.output, "write the bundle to this file (default: stdout, or --store)");
}

}  // namespace

void register_attest(CLI::App& app, Runner& run) {
  auto args = std::make_shared<AttestArgs>();
  CLI::App* attest = app.add_subcommand("attest", "sign provenance, approvals and test results for a model");
  attest->require_subcommand(1);

  CLI::App* prov = attest->add_subcommand("provenance", "SLSA provenance v1: who built the model from what");
  add_common(prov, *args);
  prov->add_option("--builder-id", args->builder_id, "runDetails.builder.id")->required();
  prov->add_option("--build-type", args->build_type, "buildDefinition.buildType")->required();
  prov->add_option("--dataset", args->datasets, "a training dataset NAME=sha256:HEX (repeatable)")->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->expected(1)->allow_extra_args(false);
  prov->add_option("--base-model", args->base_models, "a base model NAME=sha256:ROOT (repeatable)")->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->expected(1)->allow_extra_args(false);
  prov->add_option("--source", args->sources, "source code NAME=sha256:HEX (repeatable)")->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->expected(1)->allow_extra_args(false);
  prov->add_option("--finished-on", args->finished_on, "build end time (RFC 3339, \"now\" or \"none\")");
  prov->callback([args, &run] {
    args->kind = Kind::kProvenance;
    run = [args] { return run_attest(*args); };
  });

  CLI::App* appr = attest->add_subcommand("approval", "a reviewer's approval (or rejection) of a model");
  add_common(appr, *args);
  appr->add_option("--reviewer", args->reviewer, "who approves (shown in messages)")->required();
  appr->add_option("--decision", args->decision, "approved (default) or rejected")
      ->check(CLI::IsMember({"approved", "rejected"}));
  appr->add_option("--comment", args->comment, "why");
  appr->add_option("--timestamp", args->timestamp, "when (RFC 3339 or \"now\")");
  appr->callback([args, &run] {
    args->kind = Kind::kApproval;
    run = [args] { return run_attest(*args); };
  });

  CLI::App* test = attest->add_subcommand("test-result", "an evaluation's result (in-toto test result)");
  add_common(test, *args);
  test->add_option("--suite", args->suite, "the evaluation suite's name (configuration[].name)")->required();
  test->add_option("--result", args->result, "PASSED, WARNED or FAILED")
      ->required()
      ->check(CLI::IsMember({"PASSED", "WARNED", "FAILED"}));
  test->add_option("--passed-test", args->passed, "a passed test (repeatable)")->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->expected(1)->allow_extra_args(false);
  test->add_option("--failed-test", args->failed, "a failed test (repeatable)")->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->expected(1)->allow_extra_args(false);
  test->add_option("--url", args->url, "where the run's report lives");
  test->callback([args, &run] {
    args->kind = Kind::kTestResult;
    run = [args] { return run_attest(*args); };
  });
}

}  // namespace modelgate::cli
