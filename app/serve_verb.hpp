// The verbs of the HTTP surface, registered into `dispatcher` by main():
//   serve [--listen HOST:PORT] [--keys F] [--twilio-auth-token-env NAME] [--public-url URL]
//   apikey new SENDER     a fresh key, printed once, and the YAML entry that admits it
//   requests [--all]      subject requests (開示, stop, erase …), open ones first, overdue first
#pragma once

#include "app/verbs.hpp"

namespace dispatcher::web {

void add_serve_verb(CLI::App& app, const verbs::Common& common, verbs::Verbs& out);

}  // namespace dispatcher::web
