#include "dispatcher/verbs/verbs.hpp"

int main(int argc, char** argv) { return dispatcher::verbs::main(argc, argv); }
