#include "dispatcher/verbs/verbs.hpp"
#ifdef DISPATCHER_HAS_WEB
#include "web/serve_verb.hpp"
#endif

int main(int argc, char** argv) {
#ifdef DISPATCHER_HAS_WEB
  return dispatcher::verbs::main(argc, argv, {&dispatcher::web::add_serve_verb});
#else
  return dispatcher::verbs::main(argc, argv);
#endif
}
