#include "import/pickle.h"

#include <bit>
#include <cstring>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "import/pickle_globals.h"
#include "import/pickle_opcodes.h"
#include "import/printable.h"

namespace starface::import {

namespace {

namespace op = pickle_op;

// torch tensors have at most a few dozen dimensions; the cap keeps a memoised size tuple
// from being copied into many tensors at a cost quadratic in the input.
constexpr size_t kMaxTensorRank = 64;
constexpr int kMaxProtocol = 5;

struct GlobalRef {
  const AllowedGlobal* global;
};

struct StorageRef {
  std::shared_ptr<Storage> storage;
  DType dtype;
};

struct VmTuple;
using VmTuplePtr = std::shared_ptr<const VmTuple>;

// A stack or memo slot: a Python object, or one of the values that exist only inside the
// VM (an allowed global, a storage, a tuple holding either). Those can be arguments of
// REDUCE and BINPERSID but never enter a list, a dict or the result.
using StackValue = std::variant<PyObject, GlobalRef, StorageRef, VmTuplePtr>;

struct VmTuple {
  std::vector<StackValue> items;
  int depth = 1;
};

// What the memory budget charges, rounded up from what each allocation costs with malloc's
// overhead and a vector's doubling (old and new buffer live at once: 3x the element).
constexpr uint64_t kSlotCost = 3 * sizeof(StackValue) + 8;  // a stack slot
constexpr uint64_t kObjectCost = 128;                       // a shared_ptr'd object
constexpr uint64_t kListItemCost = 3 * sizeof(PyObject) + 8;
constexpr uint64_t kDictItemCost = 3 * sizeof(PyDict::Item) + 64;  // + its hash index node
constexpr uint64_t kMemoCost = 128;                                // a hash map node

int depth_of(const StackValue& value) {
  if (const auto* object = std::get_if<PyObject>(&value)) return object->depth();
  if (const auto* tuple = std::get_if<VmTuplePtr>(&value)) return (*tuple)->depth;
  return 0;
}

std::string describe(const StackValue& value) {
  if (const auto* object = std::get_if<PyObject>(&value)) return object->type_name();
  if (const auto* global = std::get_if<GlobalRef>(&value)) {
    return std::string("global ") + global->global->module + "." + global->global->name;
  }
  if (std::holds_alternative<StorageRef>(value)) return "storage";
  return "tuple";
}

std::string hex_byte(uint8_t byte) {
  static const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[byte >> 4] + digits[byte & 15];
}

class Unpickler {
 public:
  Unpickler(std::span<const std::byte> data, const UnpickleOptions& options)
      : data_(data),
        options_(options),
        own_budget_{data.size() + kPickleMemorySlack},
        budget_(options.budget ? options.budget : &own_budget_) {}

  PyObject run(size_t* end) {
    while (true) {
      if (pos_ >= data_.size()) {
        op_start_ = pos_;
        fail(options_.truncated_code, "the pickle ends before its STOP opcode");
      }
      op_start_ = pos_;
      opcode_ = static_cast<uint8_t>(data_[pos_++]);
      if (opcode_ == op::kStop) break;
      execute();
    }
    if (!marks_.empty() || stack_.size() != 1) {
      fail(ErrorCode::kMalformedPickle, "STOP leaves " + std::to_string(stack_.size()) +
                                            " objects and " + std::to_string(marks_.size()) +
                                            " marks on the stack instead of one object");
    }
    if (end) *end = pos_;
    return to_object(pop(), "the pickle's result");
  }

 private:
  // ---- errors ----

  [[noreturn]] void fail(ErrorCode code, const std::string& message) const {
    const std::string offset = std::to_string(options_.base_offset + op_start_);
    const char* name = pickle_op::name(opcode_);
    std::string where;
    if (op_start_ >= data_.size()) {
      where = "at byte " + offset + ", the end of the data";
    } else {
      where = (name ? std::string(name) : "opcode " + hex_byte(opcode_)) + " at byte " + offset;
    }
    throw Error(code, options_.source + ": " + message + " (" + where + ")");
  }

  // Runs `body`, adding this opcode's position to errors from the object model.
  template <typename Body>
  decltype(auto) located(Body&& body) const {
    try {
      return body();
    } catch (const Error& e) {
      fail(e.code(), e.what());
    }
  }

  // Charges `bytes` of heap before the object that takes them is built.
  void charge(uint64_t bytes) {
    if (bytes > budget_->left) {
      fail(ErrorCode::kMalformedPickle,
           "the objects of the pickle would take more memory than its budget (the pickle's "
           "size plus " +
               std::to_string(kPickleMemorySlack >> 20) + " MiB); no checkpoint needs that");
    }
    budget_->left -= bytes;
  }

  // ---- input ----

  std::span<const std::byte> take(uint64_t count) {
    if (count > data_.size() - pos_) {
      fail(options_.truncated_code, "the pickle ends early: " + std::to_string(count) +
                                        " bytes needed, " + std::to_string(data_.size() - pos_) +
                                        " left");
    }
    auto bytes = data_.subspan(pos_, static_cast<size_t>(count));
    pos_ += static_cast<size_t>(count);
    return bytes;
  }

  uint64_t read_le(size_t width) {
    uint64_t value = 0;
    auto bytes = take(width);
    for (size_t i = 0; i < width; ++i) {
      value |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
    }
    return value;
  }

  std::string read_text(uint64_t length) {
    auto bytes = take(length);  // checks the length against the input before allocating
    charge(kObjectCost + bytes.size());
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }

  std::string_view read_line() {
    const auto* begin = reinterpret_cast<const char*>(data_.data()) + pos_;
    const void* newline = std::memchr(begin, '\n', data_.size() - pos_);
    if (!newline) fail(options_.truncated_code, "the pickle ends inside a GLOBAL name");
    const size_t length = static_cast<const char*>(newline) - begin;
    pos_ += length + 1;
    return {begin, length};
  }

  // ---- stack ----

  size_t mark_base() const { return marks_.empty() ? 0 : marks_.back(); }

  void push(StackValue value) {
    if (++pushed_ > options_.max_objects) {
      fail(ErrorCode::kMalformedPickle, "more than " + std::to_string(options_.max_objects) +
                                            " objects; no checkpoint pickle has that many");
    }
    charge(kSlotCost);
    stack_.push_back(std::move(value));
  }

  StackValue pop() {
    if (stack_.size() <= mark_base()) {
      fail(ErrorCode::kMalformedPickle, "stack underflow: no object above the last MARK");
    }
    StackValue value = std::move(stack_.back());
    stack_.pop_back();
    return value;
  }

  StackValue& top() {
    if (stack_.size() <= mark_base()) {
      fail(ErrorCode::kMalformedPickle, "stack underflow: no object above the last MARK");
    }
    return stack_.back();
  }

  std::vector<StackValue> pop_to_mark() {
    if (marks_.empty()) fail(ErrorCode::kMalformedPickle, "no MARK to collect items from");
    const size_t base = marks_.back();
    marks_.pop_back();
    std::vector<StackValue> items(std::make_move_iterator(stack_.begin() + base),
                                  std::make_move_iterator(stack_.end()));
    stack_.resize(base);
    return items;
  }

  PyObject to_object(StackValue value, const char* role) const {
    if (auto* object = std::get_if<PyObject>(&value)) return std::move(*object);
    fail(ErrorCode::kMalformedPickle, std::string(role) + " is a " + describe(value) +
                                          ", which only REDUCE or a persistent id may take");
  }

  // The target of APPEND(S) or SETITEM(S): the object below the popped items.
  PyObject container_on_top(PyObject::Kind kind) {
    StackValue& target = top();
    auto* object = std::get_if<PyObject>(&target);
    if (!object || !object->is(kind)) {
      fail(ErrorCode::kMalformedPickle, std::string("expected a ") +
                                            (kind == PyObject::Kind::kList ? "list" : "dict") +
                                            " on the stack, found a " + describe(target));
    }
    return *object;
  }

  // The items of an argument tuple, after checking its length (before copying anything).
  std::vector<StackValue> tuple_items(const StackValue& value, const char* role, size_t min_size,
                                      size_t max_size) const {
    size_t size = 0;
    const auto* object = std::get_if<PyObject>(&value);
    const auto* vm_tuple = std::get_if<VmTuplePtr>(&value);
    if (object && object->is(PyObject::Kind::kTuple)) {
      size = object->items().size();
    } else if (vm_tuple) {
      size = (*vm_tuple)->items.size();
    } else {
      fail(ErrorCode::kMalformedPickle,
           std::string(role) + " must be a tuple, not a " + describe(value));
    }
    if (size < min_size || size > max_size) {
      fail(ErrorCode::kMalformedPickle,
           std::string(role) + " has " + std::to_string(size) + " items, expected " +
               std::to_string(min_size) +
               (max_size != min_size ? " to " + std::to_string(max_size) : ""));
    }
    if (vm_tuple) return (*vm_tuple)->items;
    return {object->items().begin(), object->items().end()};
  }

  // ---- opcodes ----

  void execute() {
    switch (opcode_) {
      case op::kProto:
        return proto();
      case op::kFrame:
        return frame();
      case op::kMark:
        return marks_.push_back(stack_.size());
      case op::kNone:
        return push(PyObject());
      case op::kNewTrue:
        return push(PyObject::from_bool(true));
      case op::kNewFalse:
        return push(PyObject::from_bool(false));
      case op::kBinInt:
        return push(PyObject::from_int(static_cast<int32_t>(read_le(4))));
      case op::kBinInt1:
        return push(PyObject::from_int(static_cast<int64_t>(read_le(1))));
      case op::kBinInt2:
        return push(PyObject::from_int(static_cast<int64_t>(read_le(2))));
      case op::kLong1:
        return long1();
      case op::kBinFloat:
        return bin_float();
      case op::kShortBinUnicode:
        return push(PyObject::from_str(read_text(read_le(1))));
      case op::kBinUnicode:
        return push(PyObject::from_str(read_text(read_le(4))));
      case op::kBinUnicode8:
        return push(PyObject::from_str(read_text(read_le(8))));
      case op::kShortBinBytes:
        return push(PyObject::from_bytes(read_text(read_le(1))));
      case op::kBinBytes:
        return push(PyObject::from_bytes(read_text(read_le(4))));
      case op::kBinBytes8:
        return push(PyObject::from_bytes(read_text(read_le(8))));
      case op::kEmptyList:
        return push(new_container(PyObject::new_list));
      case op::kEmptyDict:
        return push(new_container(PyObject::new_dict));
      case op::kEmptyTuple:
        return push_tuple({});
      case op::kTuple:
        return push_tuple(pop_to_mark());
      case op::kTuple1:
        return push_tuple(pop_n(1));
      case op::kTuple2:
        return push_tuple(pop_n(2));
      case op::kTuple3:
        return push_tuple(pop_n(3));
      case op::kAppend:
        return append(pop_n(1));
      case op::kAppends:
        return append(pop_to_mark());
      case op::kSetItem:
        return set_items(pop_n(2));
      case op::kSetItems:
        return set_items(pop_to_mark());
      case op::kBinPut:
        return memo_put(read_le(1));
      case op::kLongBinPut:
        return memo_put(read_le(4));
      case op::kMemoize:
        return memo_put(memo_.size());
      case op::kBinGet:
        return memo_get(read_le(1));
      case op::kLongBinGet:
        return memo_get(read_le(4));
      case op::kGlobal:
        return global();
      case op::kStackGlobal:
        return stack_global();
      case op::kReduce:
        return reduce();
      case op::kBuild:
        return build();
      case op::kBinPersId:
        return persistent_load();
      default:
        return refuse_opcode();
    }
  }

  [[noreturn]] void refuse_opcode() const {
    if (!pickle_op::name(opcode_)) {
      fail(ErrorCode::kMalformedPickle, "byte " + hex_byte(opcode_) + " is not a pickle opcode");
    }
    fail(ErrorCode::kUnsafePickle, std::string("refused pickle opcode ") +
                                       pickle_op::name(opcode_) + " (" + hex_byte(opcode_) +
                                       "): a checkpoint loader runs only the opcodes torch.save "
                                       "writes for tensors and containers");
  }

  PyObject new_container(PyObject (*make)()) {
    charge(kObjectCost);
    return make();
  }

  std::vector<StackValue> pop_n(size_t count) {
    std::vector<StackValue> items(count);
    for (size_t i = count; i-- > 0;) items[i] = pop();
    return items;
  }

  void proto() {
    const uint64_t version = read_le(1);
    if (version > kMaxProtocol) {
      fail(ErrorCode::kMalformedPickle, "unsupported pickle protocol " + std::to_string(version));
    }
  }

  // Frames only group opcodes for buffered reading; the whole input is in memory already.
  void frame() {
    const uint64_t length = read_le(8);
    if (length > data_.size() - pos_) {
      fail(options_.truncated_code,
           "a frame of " + std::to_string(length) + " bytes runs past the end of the pickle");
    }
  }

  void long1() {
    const uint64_t width = read_le(1);
    auto bytes = take(width);
    if (width > 8) {
      fail(ErrorCode::kMalformedPickle,
           "an integer of " + std::to_string(width) + " bytes does not fit in 64 bits");
    }
    uint64_t value = 0;
    for (size_t i = 0; i < width; ++i) {
      value |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
    }
    const bool negative = width > 0 && (static_cast<uint8_t>(bytes[width - 1]) & 0x80);
    if (negative && width < 8) value |= ~uint64_t{0} << (8 * width);  // sign-extend
    push(PyObject::from_int(static_cast<int64_t>(value)));
  }

  void bin_float() {
    auto bytes = take(8);
    uint64_t bits = 0;
    for (size_t i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<uint8_t>(bytes[i]);
    push(PyObject::from_float(std::bit_cast<double>(bits)));
  }

  void push_tuple(std::vector<StackValue> items) {
    charge(kObjectCost + items.size() * sizeof(StackValue));
    bool all_objects = true;
    int deepest = 0;
    for (const StackValue& item : items) {
      all_objects = all_objects && std::holds_alternative<PyObject>(item);
      deepest = std::max(deepest, depth_of(item));
    }
    if (all_objects) {
      std::vector<PyObject> objects;
      objects.reserve(items.size());
      for (StackValue& item : items) objects.push_back(std::get<PyObject>(std::move(item)));
      push(located([&] { return PyObject::make_tuple(std::move(objects)); }));
      return;
    }
    if (deepest + 1 > kMaxNesting) {
      fail(ErrorCode::kMalformedPickle,
           "containers nest deeper than " + std::to_string(kMaxNesting) + " levels");
    }
    push(std::make_shared<const VmTuple>(VmTuple{std::move(items), deepest + 1}));
  }

  void append(std::vector<StackValue> items) {
    PyObject list = container_on_top(PyObject::Kind::kList);
    charge(items.size() * kListItemCost);
    for (StackValue& item : items) {
      PyObject object = to_object(std::move(item), "a list item");
      located([&] { list.append(std::move(object)); });
    }
  }

  void set_items(std::vector<StackValue> items) {
    if (items.size() % 2 != 0) {
      fail(ErrorCode::kMalformedPickle, "an odd number of items for key/value pairs");
    }
    PyObject dict = container_on_top(PyObject::Kind::kDict);
    charge(items.size() / 2 * kDictItemCost);
    for (size_t i = 0; i < items.size(); i += 2) {
      PyObject key = to_object(std::move(items[i]), "a dict key");
      PyObject value = to_object(std::move(items[i + 1]), "a dict value");
      located([&] { dict.set_item(std::move(key), std::move(value)); });
    }
  }

  void memo_put(uint64_t index) {
    charge(kMemoCost);
    memo_.insert_or_assign(index, top());
  }

  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) {
      fail(ErrorCode::kMalformedPickle,
           "memo index " + std::to_string(index) + " was never stored");
    }
    push(it->second);
  }

  void global() {
    const std::string_view module = read_line();
    const std::string_view name = read_line();
    push_global(module, name);
  }

  void stack_global() {
    const PyObject name = to_object(pop(), "STACK_GLOBAL's name");
    const PyObject module = to_object(pop(), "STACK_GLOBAL's module");
    if (!name.is(PyObject::Kind::kStr) || !module.is(PyObject::Kind::kStr)) {
      fail(ErrorCode::kMalformedPickle, "STACK_GLOBAL needs a str module and name");
    }
    push_global(module.as_str(), name.as_str());
  }

  // The allow-list check happens here, at the opcode that names the global, so that a
  // refused name is never looked up, called or built.
  void push_global(std::string_view module, std::string_view name) {
    if (const AllowedGlobal* allowed = find_allowed_global(module, name)) {
      push(GlobalRef{allowed});
      return;
    }
    const std::string reason = unsupported_storage_reason(module, name);
    if (!reason.empty()) fail(ErrorCode::kBadDtype, reason);
    fail(ErrorCode::kUnsafePickle,
         "refused pickle global '" + printable(module) + "." + printable(name) + "': only " +
             allowed_globals_list() +
             " are allowed; torch.load(weights_only=False) would have called it");
  }

  void reduce() {
    const StackValue args = pop();
    const StackValue callable = pop();
    const auto* ref = std::get_if<GlobalRef>(&callable);
    if (!ref) {
      fail(ErrorCode::kMalformedPickle, "REDUCE calls a " + describe(callable) +
                                            "; only an allowed global can stand for a call");
    }
    const AllowedGlobal& global = *ref->global;
    switch (global.kind) {
      case GlobalKind::kOrderedDict:
        tuple_items(args, "collections.OrderedDict's arguments", 0, 0);
        return push(new_container(PyObject::new_dict));
      case GlobalKind::kCounter:
        return push(counter(args));
      case GlobalKind::kRebuildTensorV2:
        return push(rebuild_tensor(args));
      case GlobalKind::kStorageType:
        fail(ErrorCode::kUnsafePickle, std::string("torch.") + global.name +
                                           " is only allowed as the type tag of a persistent "
                                           "id; it is never called");
    }
  }

  PyObject counter(const StackValue& args) {
    std::vector<StackValue> items = tuple_items(args, "collections.Counter's arguments", 0, 1);
    if (items.empty()) return PyObject::new_dict();
    const auto* counts = std::get_if<PyObject>(&items[0]);
    if (!counts || !counts->is(PyObject::Kind::kDict)) {
      fail(ErrorCode::kMalformedPickle,
           "collections.Counter takes a dict, not a " + describe(items[0]));
    }
    return *counts;
  }

  int64_t int_item(const StackValue& value, const char* role) const {
    const auto* object = std::get_if<PyObject>(&value);
    if (!object || !object->is(PyObject::Kind::kInt)) {
      fail(ErrorCode::kMalformedPickle,
           std::string(role) + " must be an int, not a " + describe(value));
    }
    return object->as_int();
  }

  std::string str_item(const StackValue& value, const char* role) const {
    const auto* object = std::get_if<PyObject>(&value);
    if (!object || !object->is(PyObject::Kind::kStr)) {
      fail(ErrorCode::kMalformedPickle,
           std::string(role) + " must be a str, not a " + describe(value));
    }
    return object->as_str();
  }

  std::vector<int64_t> int_tuple(const StackValue& value, const char* role) const {
    const std::vector<StackValue> items = tuple_items(value, role, 0, kMaxTensorRank);
    std::vector<int64_t> ints;
    ints.reserve(items.size());
    for (const StackValue& item : items) ints.push_back(int_item(item, role));
    return ints;
  }

  // torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
  // backward_hooks[, metadata]), built as a view that Tensor::view bounds-checks.
  PyObject rebuild_tensor(const StackValue& args) {
    const std::vector<StackValue> items = tuple_items(args, "_rebuild_tensor_v2's arguments", 6, 7);
    const auto* storage = std::get_if<StorageRef>(&items[0]);
    if (!storage) {
      fail(ErrorCode::kMalformedPickle,
           "_rebuild_tensor_v2 needs a storage, not a " + describe(items[0]));
    }
    const int64_t offset = int_item(items[1], "a tensor's storage offset");
    std::vector<int64_t> size = int_tuple(items[2], "a tensor's size");
    std::vector<int64_t> stride = int_tuple(items[3], "a tensor's stride");
    require_empty_or_none(items[5], "backward hooks");
    if (items.size() == 7) require_empty_or_none(items[6], "tensor metadata");
    charge(kObjectCost + 2 * sizeof(int64_t) * size.size());
    Tensor tensor;
    try {
      tensor = Tensor::view(storage->storage, storage->dtype, std::move(size), std::move(stride),
                            offset);
    } catch (const Error& e) {
      fail(ErrorCode::kMalformedPickle,
           std::string("a tensor does not fit its storage: ") + e.what());
    }
    require_within_storage(tensor);
    return PyObject::from_tensor(std::move(tensor));
  }

  // A view may not have more elements than its storage (overlapping strides, as expand()
  // makes): otherwise a few bytes of storage could stand for a tensor of 2^40 elements that
  // whoever densifies it would have to allocate. Tensor::view checks the bounds.
  void require_within_storage(const Tensor& tensor) const {
    const uint64_t capacity = tensor.storage()->nbytes() / dtype_size(tensor.dtype());
    // Tensor::view has bounded numel() to 2^40 bytes, so it cannot overflow.
    if (static_cast<uint64_t>(tensor.numel()) > capacity) {
      fail(ErrorCode::kMalformedPickle, "a tensor of shape " + shape_str(tensor.shape()) +
                                            " has more elements than its storage of " +
                                            std::to_string(capacity) +
                                            " (overlapping or expanded views are not supported)");
    }
  }

  // Hooks and metadata would need code to run; checkpoints of plain tensors have none.
  void require_empty_or_none(const StackValue& value, const char* role) const {
    const auto* object = std::get_if<PyObject>(&value);
    const bool empty = object && (object->is(PyObject::Kind::kNone) ||
                                  (object->is(PyObject::Kind::kDict) && object->as_dict().empty()));
    if (!empty) {
      fail(ErrorCode::kMalformedPickle,
           std::string("a tensor with ") + role + " (a " + describe(value) + ") is not supported");
    }
  }

  // BUILD sets an object's state. The only target a checkpoint has is a state dict whose
  // state is its `_metadata` (module versions), which a loader does not need.
  void build() {
    pop();  // the state
    const StackValue& target = top();
    const auto* object = std::get_if<PyObject>(&target);
    if (!object || !object->is(PyObject::Kind::kDict)) {
      fail(ErrorCode::kMalformedPickle,
           "BUILD sets the state of a " + describe(target) + "; only dicts are supported");
    }
  }

  // ('storage', <storage type>, key, location, numel) in a zip file; legacy files add a
  // sixth item, the view metadata, which is None unless the file holds storage views.
  void persistent_load() {
    const StackValue pid = pop();
    if (!options_.resolve_storage) {
      fail(ErrorCode::kUnsafePickle, "a persistent id outside a torch checkpoint");
    }
    const std::vector<StackValue> items = tuple_items(pid, "a persistent id", 5, 6);
    if (str_item(items[0], "a persistent id's tag") != "storage") {
      fail(ErrorCode::kMalformedPickle, "a persistent id that is not a storage");
    }
    const auto* type = std::get_if<GlobalRef>(&items[1]);
    if (!type || type->global->kind != GlobalKind::kStorageType) {
      fail(ErrorCode::kMalformedPickle,
           "a persistent id's storage type is a " + describe(items[1]));
    }
    StorageRequest request{str_item(items[2], "a storage key"), type->global->dtype,
                           int_item(items[4], "a storage's element count"),
                           str_item(items[3], "a storage location")};
    if (request.numel < 0) fail(ErrorCode::kMalformedPickle, "a negative storage size");
    if (items.size() == 6) {
      const auto* view = std::get_if<PyObject>(&items[5]);
      if (!view || !view->is(PyObject::Kind::kNone)) {
        fail(ErrorCode::kMalformedPickle,
             "legacy storage views (view metadata " + describe(items[5]) + ") are not supported");
      }
    }
    push(StorageRef{options_.resolve_storage(request), request.dtype});
  }

  std::span<const std::byte> data_;
  const UnpickleOptions& options_;
  PickleBudget own_budget_;
  PickleBudget* budget_;
  size_t pos_ = 0;
  size_t op_start_ = 0;
  uint8_t opcode_ = 0;
  size_t pushed_ = 0;
  std::vector<StackValue> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, StackValue> memo_;
};

}  // namespace

PyObject unpickle(std::span<const std::byte> data, const UnpickleOptions& options, size_t* end) {
  return Unpickler(data, options).run(end);
}

}  // namespace starface::import
