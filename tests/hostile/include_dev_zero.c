/* Hostile (compile time): an endless device as a header. */
#include "/dev/zero"
int main(void) { return 0; }
