// serve_command.cpp: `modelgate serve --config FILE [--port N]`: load the config, start the
// webhook and the HTTPS server, re-check policies, trust and TLS files every reload interval, and
// drain on SIGTERM/SIGINT.
#include <CLI/CLI.hpp>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

#include "admission/cli/cli_common.h"
#include "admission/cli/commands.h"
#include "admission/config.h"
#include "admission/metrics.h"
#include "admission/server.h"
#include "admission/webhook.h"
#include "admission/writeback.h"
#include "base/log.h"
#include "base/log_keys.h"
#include "crypto/sha256.h"

namespace modelgate::cli {

namespace {

struct ServeArgs {
  std::string config;
  int port = -1;
};

int run_serve(const ServeArgs& args) {
  const admission::ConfigOutcome loaded = admission::load_server_config(args.config);
  bool unreadable = false;
  for (const policy::Diagnostic& d : loaded.diagnostics) {
    std::fprintf(stderr, "%s\n", policy::format_diagnostic(d).c_str());
    unreadable = unreadable || d.code == Code::kIo || d.code == Code::kNotFound;
  }
  if (!loaded.ok()) {
    if (!unreadable) {
      std::fprintf(stderr, "modelgate: error: %s: invalid config\n", args.config.c_str());
    }
    return kExitUsage;
  }
  admission::ServerConfig config = loaded.config;
  if (args.port >= 0) {
    config.port = static_cast<std::uint16_t>(args.port);
  }
  if (config.tls_cert_file.empty() || config.tls_key_file.empty()) {
    return usage_error(args.config + ": tls.certFile and tls.keyFile are required to serve");
  }

  // Signals are taken by sigtimedwait below, never by a handler: block them before any thread
  // starts so that every thread inherits the mask. A peer closing mid-write is an error return.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  log::Logger logger(stderr, config.log_level);
  {
    // Logged once: which SHA-256 kernel this process hashes with and how it was chosen.
    const crypto::Sha256Selection& sha = crypto::sha256_selection();
    logger.info("sha256_kernel")
        .str(log_keys::kImpl, sha.backend->name)
        .num(log_keys::kLanes, static_cast<std::int64_t>(sha.backend->lanes))
        .str(log_keys::kSelectedBy, sha.selected_by)
        .str(log_keys::kBaseline, sha.baseline->name)
        .real(log_keys::kDurationMs, sha.benchmark_ms);
  }
  // A settle interval the kernel's writeback outlasts reopens the shared-mapping attack of #17
  // (admission/writeback.h): said once at startup, where the operator who set it will look.
  if (const auto delay = admission::read_writeback_delay()) {
    if (const auto warning = admission::settle_interval_warning(config.settle_interval, *delay)) {
      logger.warn("settle_interval_below_writeback").str(log_keys::kMessage, *warning);
    }
  }
  auto metrics = std::make_shared<admission::Metrics>();
  auto webhook = admission::Webhook::create(config, metrics);
  if (!webhook.ok()) {
    print_error(webhook.error().message);
    return kExitFailed;
  }
  std::shared_ptr<admission::Webhook> hook = std::move(webhook).value();
  admission::ServerHandlers handlers;
  handlers.validate = [hook](std::string_view body) { return hook->validate(body); };
  handlers.readiness = [hook] { return hook->readiness(); };
  auto server = admission::Server::start(config, std::move(handlers), metrics, logger);
  if (!server.ok()) {
    print_error(server.error().message);
    hook->shutdown();
    const Code code = server.error().code;
    return code == Code::kIo || code == Code::kNotFound ? kExitUsage : kExitFailed;
  }

  // The reload timer is this thread: wait for a stop signal at most one interval at a time.
  const auto interval = config.reload_interval;
  int signo = 0;
  while (signo <= 0) {
    timespec timeout{};
    timeout.tv_sec = static_cast<time_t>(interval.count() / 1000);
    timeout.tv_nsec = static_cast<long>((interval.count() % 1000) * 1'000'000);
    signo = sigtimedwait(&stop_signals, nullptr, &timeout);
    if (signo > 0) {
      break;
    }
    if (errno != EAGAIN && errno != EINTR) {
      logger.error("signal_wait_failed").num(log_keys::kCode, errno);
      break;
    }
    hook->reload_if_changed();
    (void)(*server)->reload_tls_if_changed();  // logged and counted inside; the current pair stays
  }
  logger.info("stopping").str(log_keys::kReason, signo == SIGINT ? "SIGINT" : signo == SIGTERM ? "SIGTERM" : "error");
  (*server)->stop();
  hook->shutdown();
  logger.info("stopped");
  return kExitOk;
}

}  // namespace

void register_serve(CLI::App& app, Runner& run) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* serve = app.add_subcommand(
      "serve", "Run the admission webhook: HTTPS POST /validate, /healthz, /readyz, /metrics (drains on SIGTERM)");
  serve->add_option("--config", args->config, "ServerConfig YAML file (docs/config.md)")
      ->required()
      ->type_name("FILE");
  serve->add_option("--port", args->port, "Listen on this port instead of listen.port (0: any free port, logged)")
      ->check(CLI::Range(0, 65535))
      ->type_name("N");
  serve->callback([args, &run] { run = [args] { return run_serve(*args); }; });
}

}  // namespace modelgate::cli
