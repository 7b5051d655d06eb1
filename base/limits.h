// limits.h: every bound modelgate enforces on untrusted input, each with the reason for its value.
// Not configuration: operators cannot raise these; they exist so that hostile input fails early.
#pragma once

#include <cstddef>
#include <cstdint>

namespace modelgate::limits {

// --- JSON / documents -------------------------------------------------------------------------
// A model.sig for a 100k-file model is ~15 MB of resources; 64 MiB leaves room and stops abuse.
inline constexpr std::size_t kMaxBundleBytes = 64u << 20;
// Trusted roots are ~10 KB today; 4 MiB allows years of key rotation.
inline constexpr std::size_t kMaxTrustedRootBytes = 4u << 20;
// Protobuf-JSON and in-toto documents nest < 10 deep; 64 stops stack exhaustion.
inline constexpr std::size_t kMaxJsonDepth = 64;
// DSSE payload (the in-toto statement), decoded.
inline constexpr std::size_t kMaxDssePayloadBytes = 48u << 20;
// sigstore-go's limit on tlog entries and on RFC 3161 timestamps per bundle.
inline constexpr std::size_t kMaxTlogEntries = 32;
inline constexpr std::size_t kMaxTimestamps = 32;
// DSSE signatures per envelope: Sigstore needs exactly one; a few more for multi-signer envelopes.
inline constexpr std::size_t kMaxDsseSignatures = 16;
// in-toto subjects per statement: legacy model_signing Digests/v0.1 statements carry one subject
// per file, so as many as a model has resources (the payload size bound applies first anyway).
inline constexpr std::size_t kMaxStatementSubjects = 1'000'000;  // = kMaxResources below
// Digests per in-toto subject (sigstore-go's limit).
inline constexpr std::size_t kMaxSubjectDigests = 32;
// Signed-note signature lines in one checkpoint (log + witness cosignatures).
inline constexpr std::size_t kMaxCheckpointSignatures = 64;
// SCTs in one certificate's embedded list (Fulcio embeds 1; CT policies ask for 2-3).
inline constexpr std::size_t kMaxScts = 16;
// Entries of each kind (tlogs, ctlogs, CAs, TSAs) in a trusted root.
inline constexpr std::size_t kMaxTrustedRootInstances = 256;
// Certificates in a chain (bundle or PEM anchor file); real chains have 2-4.
inline constexpr std::size_t kMaxChainCertificates = 16;
inline constexpr std::size_t kMaxCertificateBytes = 64u << 10;
// Merkle audit path: a log of 2^64 entries needs 64 hashes.
inline constexpr std::size_t kMaxInclusionProofHashes = 64;
// A checkpoint is a few lines; witnesses add a line each.
inline constexpr std::size_t kMaxCheckpointBytes = 64u << 10;
// A PEM or DER key/cert file given on the command line or in config.
inline constexpr std::size_t kMaxKeyFileBytes = 1u << 20;

// --- model trees ------------------------------------------------------------------------------
// Files in one model (HF checkpoints have < 1k; 1M stops inode-bomb directories).
inline constexpr std::size_t kMaxModelFiles = 1'000'000;
// Directory depth below the model root.
inline constexpr std::size_t kMaxModelDepth = 128;
// Directory entries examined in one walk (files, dirs, ignored ones): empty directories leave no
// trace in a manifest but each costs a syscall, so a tree of millions of them is stopped here.
inline constexpr std::size_t kMaxModelDirEntries = 4'000'000;
// One path component (NAME_MAX on Linux) and a whole relative path (PATH_MAX).
inline constexpr std::size_t kMaxNameBytes = 255;
inline constexpr std::size_t kMaxPathBytes = 4096;
// Resources in one signature's manifest (shards of a 1 PB model at 1 GB each is 1M).
inline constexpr std::size_t kMaxResources = 1'000'000;
// Entries in serialization.ignore_paths.
inline constexpr std::size_t kMaxIgnorePaths = 4096;
// Smallest shard size accepted from a signature: smaller shards make a manifest explode.
inline constexpr std::uint64_t kMinShardSize = 1;
// Missing / extra / mismatched resources named per kind in one failure message (the rest counted).
inline constexpr std::size_t kMaxReportedResourceDiffs = 1000;

// --- hashing ----------------------------------------------------------------------------------
// mmap window per stream: large enough to amortise the syscall, small enough that K streams x
// workers stay well under 1 GiB of address space and RSS stays flat (windows are unmapped).
inline constexpr std::size_t kHashWindowBytes = 8u << 20;
// Bytes one hashing worker keeps mapped across all its streams: windows shrink as the kernel's
// lanes grow (4 SHA-NI streams x 8 MiB, 16 AVX-512 streams x 2 MiB), so RSS per worker stays
// the same whichever kernel the CPU picks. Never below kHashMinWindowBytes per stream.
inline constexpr std::size_t kHashWorkerMappedBytes = 32u << 20;
inline constexpr std::size_t kHashMinWindowBytes = 1u << 20;
// Hashing worker threads, whatever --threads says.
inline constexpr std::size_t kMaxHashThreads = 256;
// A model whose file list already differs from the signed one is decided without hashing; it is
// still hashed when this small, only so that the report names every digest (what the upstream
// tool prints). Past it a sparse or huge impostor costs no read at all.
inline constexpr std::uint64_t kMaxBytesHashedForReport = 64u << 20;

}  // namespace modelgate::limits

namespace modelgate::limits {

// --- admission --------------------------------------------------------------------------------
// An AdmissionReview carries object + oldObject; etcd caps one object at 1.5 MiB, so 8 MiB is
// generous for both plus envelope, and stops memory abuse from anything that reaches the port.
inline constexpr std::size_t kMaxAdmissionReviewBytes = 8u << 20;
// Kubernetes objects nest ~15 deep (CronJob → jobTemplate → template → spec → containers → ...).
inline constexpr std::size_t kMaxAdmissionJsonDepth = 64;
// Volumes and containers in one pod spec; real pods have tens.
inline constexpr std::size_t kMaxPodVolumes = 1024;
inline constexpr std::size_t kMaxPodContainers = 1024;
inline constexpr std::size_t kMaxVolumeMountsPerContainer = 1024;
// Volume mounts in one pod spec, all containers together: real pods have tens; this bounds the
// per-mount work of a decision (claims, overlays) to a fixed amount whatever the request's shape.
inline constexpr std::size_t kMaxPodVolumeMounts = 4096;
// Distinct model directories one object may mount: each is a verification; real pods mount one
// to a few. Beyond this the object is denied, naming the cap.
inline constexpr std::size_t kMaxModelRefsPerObject = 64;
// Volume and mount problems listed per policy in one denial; the rest are counted ("and N more").
inline constexpr std::size_t kMaxReportedMountProblems = 16;
// Strings echoed back to users (names, paths) are cut to this many bytes (STYLE.md §5).
inline constexpr std::size_t kMaxEchoedStringBytes = 120;
// --cluster-state files (kubectl get pvc,pv,ns -A -o yaml): ~2 KB per object, so 256 MiB holds
// the 200k objects an informer may hold (kMaxKubeCacheObjects); files on one command line.
inline constexpr std::size_t kMaxClusterStateBytes = 256u << 20;
inline constexpr std::size_t kMaxClusterStateFiles = 64;

}  // namespace modelgate::limits

namespace modelgate::limits {

// --- policies (policy/) -----------------------------------------------------------------------
// A policy file is a few KB; 1 MiB holds hundreds of policies and stops memory abuse.
inline constexpr std::size_t kMaxPolicyFileBytes = 1u << 20;
// YAML nodes visited per policy file, aliases counted at every use (stops alias "billion
// laughs"); 1,024 small policies are ~50k nodes.
inline constexpr std::size_t kMaxPolicyNodes = 100'000;
// Scalar bytes visited per policy file, aliases counted at every use: what a parse can copy into
// memory. 4x the file bound; and per policy set, so that 1,024 files cannot multiply it.
inline constexpr std::size_t kMaxPolicyExpandedBytes = 4u << 20;
inline constexpr std::size_t kMaxPolicySetExpandedBytes = 32u << 20;
// YAML nesting depth; the policy schema is < 10 deep, 32 stops stack exhaustion.
inline constexpr std::size_t kMaxPolicyDepth = 32;
// Policy files in one directory or on one command line, and policies in one set.
inline constexpr std::size_t kMaxPolicyFiles = 1024;
inline constexpr std::size_t kMaxPolicies = 1024;
// Items in any one list of a policy (signers, sources, patterns, names); real lists have < 20.
inline constexpr std::size_t kMaxPolicyListItems = 256;
// RE2 patterns compiled per policy, the length of one pattern, and RE2's memory budget for one
// compiled program (RE2's own default is 8 MiB; policy patterns are short).
inline constexpr std::size_t kMaxPatternsPerPolicy = 1024;
inline constexpr std::size_t kMaxPatternBytes = 4096;
inline constexpr std::int64_t kMaxPatternProgramBytes = 1 << 20;
// One string scalar in a policy or catalog (paths are bounded by kMaxPathBytes already).
inline constexpr std::size_t kMaxPolicyStringBytes = 8192;
// Diagnostics collected per run before the rest are counted, not listed.
inline constexpr std::size_t kMaxDiagnostics = 1000;
// require.reviews.minApprovals and require.signature.threshold upper bounds.
inline constexpr std::uint32_t kMaxApprovals = 64;
// require.baseModels.maxDepth: lineages deeper than 16 fine-tunes are not real.
inline constexpr std::uint32_t kMaxBaseModelDepth = 16;
// require.maxAge: 10 years; longer is "forever" and should be written as no maxAge.
inline constexpr std::int64_t kMaxPolicyMaxAgeSeconds = 3650LL * 24 * 3600;
// maxAge accepts evidence times at most this far ahead of the webhook's clock (NTP-synced nodes
// and signers disagree by seconds; more than 5 minutes is a wrong clock or a forged finishedOn).
inline constexpr std::int64_t kMaxClockSkewSeconds = 300;
// A dataset catalog lists every dataset an org uses; 16 MiB is ~50k entries.
inline constexpr std::size_t kMaxDatasetCatalogBytes = 16u << 20;
inline constexpr std::size_t kMaxCatalogNodes = 2'000'000;
inline constexpr std::size_t kMaxCatalogExpandedBytes = 64u << 20;
inline constexpr std::size_t kMaxCatalogDatasets = 100'000;

}  // namespace modelgate::limits

namespace modelgate::limits {

// --- evidence (attestations about a model) ----------------------------------------------------
// *.json files listed per model digest, all stores together. Real models have a handful, but an
// evidence writer can add junk, and junk must not hide valid evidence: 16,384 is well past the
// 10,000 junk files the flood test uses, and bounds the per-request evidence fingerprint (one stat
// per file, ~80 ms at the bound). Past it the evidence is incomplete and the model is denied (a
// reviewer's rejection may be among the unread).
inline constexpr std::size_t kMaxEvidenceFiles = 16'384;
// One attestation bundle (provenance with many dependencies is the largest, ~100 KB).
inline constexpr std::size_t kMaxAttestationBytes = 4u << 20;
// Bytes read per model digest, all evidence files together (smallest files first): 16,384 files
// of 16 KB; bounds the parsing an evidence writer can buy (docs/performance.md). Past it, as above.
inline constexpr std::size_t kMaxEvidenceBytes = 256u << 20;
// resolvedDependencies / materials per provenance, test names per test result.
inline constexpr std::size_t kMaxProvenanceDependencies = 4096;
inline constexpr std::size_t kMaxTestResultEntries = 4096;

}  // namespace modelgate::limits

namespace modelgate::limits {

// --- Kubernetes API client (kube/) ------------------------------------------------------------
// One object in a list or watch event: etcd refuses objects over 1.5 MiB, so 2 MiB plus the
// event envelope holds any real object and stops a hostile or broken server from growing us.
inline constexpr std::size_t kMaxKubeObjectBytes = 2u << 20;
// One watch line (event type + object + newline): the object cap plus the envelope.
inline constexpr std::size_t kMaxKubeLineBytes = kMaxKubeObjectBytes + 256;
// One non-streaming response body (a list page or a GET): pages are requested with limit=500,
// and 500 objects at their real size (a few KB) are far below this; 64 MiB stops abuse.
inline constexpr std::size_t kMaxKubeResponseBytes = 64u << 20;
// Items in one list page; the client asks for 500, a server that ignores limit (rv=0) may send
// all, so this is the bound on what one page may hold.
inline constexpr std::size_t kMaxKubeListPageItems = 100'000;
// Objects one informer cache holds (the 10k-PVC cluster in docs/install.md is 1/20 of it).
inline constexpr std::size_t kMaxKubeCacheObjects = 200'000;
// Pages in one paginated list before giving up (200k objects at 500 per page is 400).
inline constexpr std::size_t kMaxKubeListPages = 1000;
// The response status line plus headers.
inline constexpr std::size_t kMaxKubeHeaderBytes = 64u << 10;
inline constexpr std::size_t kMaxKubeHeaders = 128;
// A chunk-size line (hex size and extensions) and a trailer section.
inline constexpr std::size_t kMaxKubeChunkLineBytes = 1024;
// Kubernetes JSON objects nest < 20 deep (managedFields fieldsV1 is the deepest); 64 as elsewhere.
inline constexpr std::size_t kMaxKubeJsonDepth = 64;
// A kubeconfig file, a token file, and a CA bundle.
inline constexpr std::size_t kMaxKubeconfigBytes = 4u << 20;
inline constexpr std::size_t kMaxKubeTokenBytes = 64u << 10;
inline constexpr std::size_t kMaxKubeCaBytes = 1u << 20;
// Labels kept per namespace (Kubernetes has no cap; real namespaces have < 20), and the bytes of
// one label key or value kept (keys <= 317, values <= 63 by the API's own validation).
inline constexpr std::size_t kMaxKubeLabels = 256;
inline constexpr std::size_t kMaxKubeLabelBytes = 512;
// Kubernetes names and the other identity strings kept per object (DNS subdomain names are <= 253;
// CSI volume handles and NFS paths are longer, hence the path bound).
inline constexpr std::size_t kMaxKubeNameBytes = 253;
inline constexpr std::size_t kMaxKubeFieldBytes = 4096;

}  // namespace modelgate::limits

namespace modelgate::limits {

// --- OCI registry client (oci/) ---------------------------------------------------------------
// One image manifest or index: distribution and most registries refuse manifests over 4 MiB, and
// a ModelPack manifest of kMaxOciLayers layers is ~2.5 MiB, so 4 MiB holds every real one.
inline constexpr std::size_t kMaxOciManifestBytes = 4u << 20;
// Layers in one ModelPack manifest: one per model file; 10k files is far past real models (a
// 1T-parameter checkpoint is < 2k safetensors shards) and keeps a manifest walk cheap.
inline constexpr std::size_t kMaxOciLayers = 10'000;
// Descriptors in a referrers index (signatures, attestations, SBOMs of one manifest).
inline constexpr std::size_t kMaxOciReferrers = 1000;
// A bearer-token response and a Docker config.json (both tiny in practice).
inline constexpr std::size_t kMaxOciTokenResponseBytes = 1u << 20;
inline constexpr std::size_t kMaxOciDockerConfigBytes = 1u << 20;
// An error body or other small response kept for its message.
inline constexpr std::size_t kMaxOciErrorBodyBytes = 64u << 10;
// One reference string (distribution caps repository names at 255; tags at 128; a digest 71).
inline constexpr std::size_t kMaxOciReferenceBytes = 512;
// Tags listed from one repository.
inline constexpr std::size_t kMaxOciTags = 10'000;
// Manifests and blobs kept in the client's digest cache (they are immutable; a cache hit needs
// no network), in bytes.
inline constexpr std::size_t kMaxOciCacheBytes = 64u << 20;

}  // namespace modelgate::limits
