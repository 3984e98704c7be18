// The object tree's own rules: key equality, ordering, and the limits that keep it finite.
#include "import/py_object.h"

#include <gtest/gtest.h>

#include "import/expect_error.h"

namespace starface::import {
namespace {

using starface::testing::throws_error;
using Kind = PyObject::Kind;

TEST(PyObject, KeysFollowPythonEquality) {
  EXPECT_TRUE(PyObject::from_int(1).key_equals(PyObject::from_bool(true)));
  EXPECT_TRUE(PyObject::from_int(2).key_equals(PyObject::from_float(2.0)));
  EXPECT_EQ(PyObject::from_int(2).key_hash(), PyObject::from_float(2.0).key_hash());
  EXPECT_FALSE(PyObject::from_int(2).key_equals(PyObject::from_float(2.5)));
  EXPECT_FALSE(PyObject::from_str("a").key_equals(PyObject::from_bytes("a")));
  EXPECT_TRUE(PyObject().key_equals(PyObject()));
  const PyObject a = PyObject::make_tuple({PyObject::from_int(1), PyObject::from_str("x")});
  const PyObject b = PyObject::make_tuple({PyObject::from_float(1.0), PyObject::from_str("x")});
  EXPECT_TRUE(a.key_equals(b));
  EXPECT_EQ(a.key_hash(), b.key_hash());
}

TEST(PyObject, DictSetKeepsFirstPosition) {
  PyObject dict = PyObject::new_dict();
  dict.set_item(PyObject::from_int(1), PyObject::from_str("one"));
  dict.set_item(PyObject::from_str("k"), PyObject::from_str("kay"));
  dict.set_item(PyObject::from_bool(true), PyObject::from_str("true"));
  ASSERT_EQ(dict.as_dict().size(), 2u);
  EXPECT_EQ(dict.as_dict().items()[0].second.as_str(), "true");
  EXPECT_EQ(dict.as_dict().find(PyObject::from_float(1.0))->as_str(), "true");
}

TEST(PyObject, UnhashableKeys) {
  PyObject dict = PyObject::new_dict();
  for (const PyObject& key : {PyObject::new_list(), PyObject::new_dict(),
                              PyObject::from_tensor(Tensor(DType::kFloat32, {1})),
                              PyObject::make_tuple({PyObject::new_list()})}) {
    EXPECT_TRUE(throws_error([&] { dict.set_item(key, PyObject()); }, ErrorCode::kMalformedPickle,
                             {"unhashable"}))
        << key.type_name();
    EXPECT_EQ(dict.as_dict().find(key), nullptr);
  }
}

TEST(PyObject, WrongKindAccessIsAnInternalError) {
  EXPECT_TRUE(throws_error([] { PyObject::from_str("x").as_int(); }, ErrorCode::kInternal,
                           {"str, not int"}));
}

TEST(PyObject, DepthAndFreezing) {
  PyObject outer = PyObject::new_list();
  PyObject inner = PyObject::new_list();
  inner.append(PyObject::from_int(1));
  outer.append(inner);
  EXPECT_EQ(outer.depth(), 2);
  EXPECT_TRUE(throws_error([&] { inner.append(PyObject()); }, ErrorCode::kMalformedPickle,
                           {"after it was put into another container"}));
  EXPECT_TRUE(
      throws_error([&] { outer.append(outer); }, ErrorCode::kMalformedPickle, {"into itself"}));
}

TEST(PyObject, CopiesShare) {
  const PyObject text = PyObject::from_str("shared");
  const PyObject copy = text;
  EXPECT_TRUE(copy.same_object(text));
  EXPECT_FALSE(PyObject::from_str("shared").same_object(text));
  EXPECT_EQ(PyObject().type_name(), std::string("NoneType"));
  EXPECT_TRUE(PyObject().is(Kind::kNone));
}

}  // namespace
}  // namespace starface::import
