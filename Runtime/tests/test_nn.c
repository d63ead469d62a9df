#include "test.h"
void test_nn(void) {}
