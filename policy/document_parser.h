// document_parser.h: the ModelPolicy parser shared by document.cpp (frame, spec), document_pod.cpp
// (match, sources, other volumes, break-glass),
// document_trust.cpp (signers, reviewers)
// and document_require.cpp (rules, references). Internal to policy/; use document.h.
#pragma once

#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/document.h"
#include "policy/yaml_reader.h"

namespace modelgate::policy::detail {

// kNoNames stands in for a trust list that was never read.
inline const std::vector<Located<std::string>> kNoNames;

// PolicyParser parses one document into a Policy, reporting to the Reader's diagnostics. Returns
// a Policy (possibly partial: callers keep it only when no error was reported) or nullopt when the
// document is not a ModelPolicy mapping. One per document; not thread-safe.
// PatternCache holds every pattern compiled in one file, by source text, so that a pattern
// written or aliased many times is compiled once (failures are cached too).
using PatternCache = std::map<std::string, Result<std::shared_ptr<const re2::RE2>>, std::less<>>;

class PolicyParser {
 public:
  PolicyParser(yaml::Reader& r, std::filesystem::path base_dir, PatternCache& cache);
  std::optional<Policy> parse(const YAML::Node& doc);

 private:
  void parse_spec(yaml::Map& spec, Policy& p);
  void parse_match(const yaml::Field& f, Match& out);
  NamespaceSelector parse_namespace_selector(const yaml::Field& f);
  std::optional<Source> parse_source(const yaml::Field& f);
  void parse_other_volumes(const yaml::Field& f, OtherVolumes& out);
  void parse_break_glass(const yaml::Field& f, BreakGlass& out);
  void parse_trust(const yaml::Field& f, Trust& out);
  std::optional<Signer> parse_signer(const yaml::Field& f);
  std::optional<ReviewerGroup> parse_reviewer_group(const yaml::Field& f);
  std::optional<KeylessIdentity> parse_keyless(const yaml::Field& f);
  void parse_require(const yaml::Field& f, Require& out);
  std::optional<SignatureRule> parse_signature(const yaml::Field& f);
  std::optional<ProvenanceRule> parse_provenance(const yaml::Field& f);
  std::optional<ReviewsRule> parse_reviews(const yaml::Field& f);
  std::optional<DatasetsRule> parse_datasets(const yaml::Field& f);
  std::optional<BaseModelsRule> parse_base_models(const yaml::Field& f);
  std::optional<EvaluationRule> parse_evaluation(const yaml::Field& f);
  // check_references reports names in rules that trust does not define, and unused trust entries.
  void check_references(const Policy& p);

  // Typed scalars with policy syntax on top of the Reader's.
  std::optional<Pattern> pattern(const yaml::Field& f);
  std::optional<std::vector<Pattern>> patterns(const yaml::Field& f);
  std::optional<PathRef> path_ref(const yaml::Field& f);
  std::optional<Located<std::string>> absolute_path(const yaml::Field& f);
  std::optional<Located<std::string>> name(const yaml::Field& f);
  // required_name reads m's required `name` into `out`; false (already reported) when it is
  // missing or not a valid name.
  bool required_name(yaml::Map& m, Located<std::string>& out);
  // exactly_one returns the first of `kinds` present in `m`, reporting none or several.
  std::optional<std::string> exactly_one(const yaml::Map& m, std::initializer_list<std::string_view> kinds,
                                         std::string_view what);
  void unique_names(const std::vector<const Located<std::string>*>& names, std::string_view what);

  yaml::Reader& r_;
  std::filesystem::path base_dir_;
  PatternCache& cache_;
  std::size_t patterns_ = 0;
  // Names declared in trust, including entries dropped for other errors, so that one bad signer
  // does not also make every rule naming it "undefined". nullopt: the list itself was unreadable.
  std::optional<std::vector<Located<std::string>>> declared_signers_;
  std::optional<std::vector<Located<std::string>>> declared_groups_;
  // Errors already reported when this document started: unused-entry warnings are noise in a
  // document that has errors of its own.
  std::size_t errors_at_start_ = 0;
};

}  // namespace modelgate::policy::detail
