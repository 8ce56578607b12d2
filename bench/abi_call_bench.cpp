// One page-handler call through the ABI beside the same work done through a
// direct virtual call, in one binary (bench/abi-call prints the difference).
//
// abi_call: the host calls the page_entry's raw function pointer, as the web
// layer does, into a real plugin .so built with sdk.hpp. The path is host ->
// C descriptor -> SDK trampoline (detail::guard) -> std::function -> user
// lambda -> trellis::response::status -> C host table (response_set_status)
// -> back.
//
// virtual_call: a virtual handler calling a virtual set_status that checks
// the range and stores the status, both defined in another translation unit.
//
// abi_call_via_call_page: the same as abi_call, through host::call_page (the
// host's wrapper that also collects the error message).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "trellis/host/calls.hpp"
#include "trellis/host/plugin_host.hpp"
#include "virtual_handler.hpp"

#ifndef TRELLIS_BENCH_PLUGIN
#error "TRELLIS_BENCH_PLUGIN must name the bench plugin's .so"
#endif

namespace {

namespace host = trellis::host;
namespace bench = trellis::bench;

constexpr std::string_view page_method = "GET";
constexpr std::string_view page_path = "/abi-bench/status";

host::page_request make_request() {
  host::page_request request;
  request.method = page_method;
  request.path = page_path;
  return request;
}

void check_response(benchmark::State& state, const host::page_response& response) {
  if (response.status != 200) state.SkipWithError("the handler did not set status 200");
}

void virtual_call(benchmark::State& state) {
  const host::page_request request = make_request();
  host::page_response response;
  response.status = 0;
  const std::unique_ptr<bench::virtual_handler> handler = bench::make_virtual_handler();
  const std::unique_ptr<bench::virtual_response> res = bench::make_virtual_response(response);
  for (auto _ : state) {
    handler->handle(request, *res);
    benchmark::DoNotOptimize(response.status);
  }
  check_response(state, response);
}

void abi_call(benchmark::State& state, const host::page_entry* page) {
  const host::page_request request = make_request();
  host::page_response response;
  response.status = 0;
  host::call_status result;
  trellis_error_s err{&result};
  trellis_request_s req{&request};
  trellis_response_s res{&response};
  auto* const handle = page->handle;
  void* const user_data = page->cb.user_data;
  trellis_status status = TRELLIS_OK;
  for (auto _ : state) {
    status = handle(user_data, &req, &res, &err);
    benchmark::DoNotOptimize(status);
  }
  if (status != TRELLIS_OK) state.SkipWithError(("the handler failed: " + result.message).c_str());
  check_response(state, response);
}

void abi_call_via_call_page(benchmark::State& state, const host::page_entry* page) {
  const host::page_request request = make_request();
  host::page_response response;
  response.status = 0;
  host::call_status result;
  for (auto _ : state) {
    result = host::call_page(*page, request, response);
    benchmark::DoNotOptimize(result.status);
  }
  if (!result.ok()) state.SkipWithError(("the handler failed: " + result.message).c_str());
  check_response(state, response);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

  // TRELLIS_BENCH_PLUGIN in the environment overrides the built-in path.
  const char* env_plugin = std::getenv("TRELLIS_BENCH_PLUGIN");
  const std::filesystem::path plugin = env_plugin != nullptr ? env_plugin : TRELLIS_BENCH_PLUGIN;

  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("trellis", sink);
  logger->set_level(spdlog::level::warn);
  const host::env_lookup no_env = [](std::string_view) { return std::optional<std::string>{}; };
  host::plugin_host plugins(host::host_config{}, no_env, logger);
  plugins.load({plugin});
  const host::page_entry* page = plugins.contributions().find_page(page_method, page_path);
  if (page == nullptr || page->handle == nullptr) {
    std::cerr << "abi_call_bench: " << plugin.string() << " did not register " << page_method << " "
              << page_path << "\n";
    for (const host::plugin_record& r : plugins.plugins()) {
      std::cerr << "  " << r.file.string() << ": " << host::to_string(r.state) << " " << r.error
                << "\n";
    }
    return 1;
  }

  benchmark::RegisterBenchmark("virtual_call", virtual_call);
  benchmark::RegisterBenchmark("abi_call", abi_call, page);
  benchmark::RegisterBenchmark("abi_call_via_call_page", abi_call_via_call_page, page);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  plugins.shutdown();
  return 0;
}
