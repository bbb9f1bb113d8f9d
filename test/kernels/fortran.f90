! Fortran kernels through bind(c): by-reference arguments (OnStack) and by value.
function fsum(a, n) bind(c, name="fsum") result(s)
  use iso_c_binding
  implicit none
  integer(c_int), intent(in) :: n
  real(c_double), intent(in) :: a(n)
  real(c_double) :: s
  s = sum(a)
end function fsum

subroutine fscale(a, n, f) bind(c, name="fscale")
  use iso_c_binding
  implicit none
  integer(c_int), value :: n
  real(c_double), value :: f
  real(c_double), intent(inout) :: a(n)
  a = a * f
end subroutine fscale

function fadd(x, y) bind(c, name="fadd") result(z)
  use iso_c_binding
  implicit none
  integer(c_long), value :: x, y
  integer(c_long) :: z
  z = x + y
end function fadd
