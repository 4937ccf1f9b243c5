/* Hostile (compile time): a host secret as a header, hoping the compiler
 * quotes it back in its error messages. */
#include "/etc/passwd"
int main(void) { return 0; }
