// std::visit over lambdas: Overload{[](const A&) {...}, [](const B&) {...}}.
#pragma once

namespace netkeep {

template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

}  // namespace netkeep
