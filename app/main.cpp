#include "app/serve_verb.hpp"
#include "app/verbs.hpp"

int main(int argc, char** argv) {
  return dispatcher::verbs::main(argc, argv, {&dispatcher::web::add_serve_verb});
}
