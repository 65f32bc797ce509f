// The `dispatcher` command line: one function per verb family registers its subcommands.
// A verb returns its exit code; start-up failures are exceptions that main() prints as one line.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace dispatcher::verbs {

struct Common {
  std::string config_file;  // --config
};

struct Verb {
  CLI::App* command;
  std::function<int()> run;
};
using Verbs = std::vector<Verb>;

void add_queue_verbs(CLI::App& app, const Common& common, Verbs& out);  // run, enqueue, cancel
void add_subject_verbs(CLI::App& app, const Common& common,
                       Verbs& out);  // subscriber, consent, optout …, history
void add_check_verbs(CLI::App& app, const Common& common, Verbs& out);    // check, explain, render
void add_store_verbs(CLI::App& app, const Common& common, Verbs& out);    // migrate, embedded
void add_request_verbs(CLI::App& app, const Common& common, Verbs& out);  // requests …

// Who a verb records as having done something: "cli:$USER".
std::string operator_name();

// Verb families from other folders (the HTTP surface in web/) register through this hook,
// so the core does not depend on them; the binary's main() passes them in.
using Registrar = void (*)(CLI::App& app, const Common& common, Verbs& out);
int main(int argc, char** argv, const std::vector<Registrar>& extra = {});

// Reads "F" or "-" (stdin) line by line; returns false with an error when F cannot be opened.
bool for_each_line(const std::string& file,
                   const std::function<void(std::string_view line, std::size_t number)>& f,
                   std::string& error);

}  // namespace dispatcher::verbs
