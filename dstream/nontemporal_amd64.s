#include "textflag.h"

// func copyNonTemporal(dst, src unsafe.Pointer, words uintptr)
TEXT ·copyNonTemporal(SB), NOSPLIT|NOFRAME, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ words+16(FP), CX
	TESTQ CX, CX
	JZ done
loop:
	MOVQ (SI), AX
	MOVNTIQ AX, (DI)
	ADDQ $8, SI
	ADDQ $8, DI
	DECQ CX
	JNZ loop
done:
	SFENCE
	RET
