#include "kiln.h"
int main(void) { return 0; }
