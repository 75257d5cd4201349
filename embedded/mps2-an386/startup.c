/* Minimal Cortex-M4 start for QEMU's mps2-an386: the vector table (initial
 * stack pointer, reset handler, faults), the FPU switched on, then newlib's
 * rdimon start-up (_start: semihosting, bss, main, exit). */
#include <stdint.h>

extern uint32_t __StackTop;
extern void _start(void);
void Reset_Handler(void);

/* A fault ends the run with a message on the host (semihosting). */
static void Fault_Handler(void)
{
    static const char msg[] = "mps2-an386: fault\n";
    register uint32_t op __asm__("r0") = 0x04;       /* SYS_WRITE0 */
    register const char *arg __asm__("r1") = msg;
    __asm__ volatile("bkpt 0xab" : "+r"(op) : "r"(arg) : "memory");
    register uint32_t op2 __asm__("r0") = 0x18;      /* SYS_EXIT */
    register uint32_t why __asm__("r1") = 0x20024;   /* ADP_Stopped_InternalError */
    __asm__ volatile("bkpt 0xab" : "+r"(op2) : "r"(why) : "memory");
    for (;;) {
    }
}

__attribute__((section(".isr_vector"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)&__StackTop, Reset_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, 0, 0, 0, 0, Fault_Handler, 0, 0,
    Fault_Handler, Fault_Handler,
};

void Reset_Handler(void)
{
    /* CP10 and CP11 (the FPU) full access, before any float instruction */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb");
    _start();
}
