/* Hostile (compile time): an endless random device as a header. */
#include "/dev/urandom"
int main(void) { return 0; }
