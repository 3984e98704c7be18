// What `starface run` processes: paths (video files, image files, folders) and list files
// expanded into inputs, each named for its outputs, then split into shards.
#pragma once

#include <string>
#include <vector>

namespace starface::pipeline {

struct Input {
  enum class Kind {
    kVideo,   // one video file
    kImages,  // image files in natural name order (a folder, or a single image); each image
              // on its own, or frames of one sequence with RunOptions::image_sequence
    kBroken,  // found unusable while expanding (missing, unreadable folder, ...): `error` says why
  };
  Kind kind = Kind::kVideo;
  std::string path;                // as the user gave it (the folder for a folder of images)
  std::vector<std::string> files;  // kImages: the frames, in order
  std::string name;                // output base name: unique among all inputs
  std::string error;               // kBroken only
};

// Natural order of names: digit runs compare by their value ("2.png" before "10.jpg",
// "f9" before "f010"), everything else byte by byte; names equal that way ("a01", "a1")
// fall back to byte order, so the order is total and every machine lists alike.
bool natural_less(const std::string& a, const std::string& b);

bool is_image_file(const std::string& path);
bool is_video_file(const std::string& path);

// Reads a list file: one path per line; blank lines and lines starting with '#' are
// skipped, surrounding whitespace trimmed, relative paths taken from the list's folder.
// An unreadable list is kIo (the whole run cannot know its inputs).
std::vector<std::string> read_list_file(const std::string& list_path);

// Expands paths in order: a video file is one input; an image file is a one-frame sequence;
// a folder gives one input of its images (natural_less by name) plus one input per video in
// it (not recursive); anything else (missing, unreadable, a folder with nothing usable, a
// file that is neither) becomes a kBroken input, so it is reported where it would have run.
// A file with an unknown extension is tried as a video. Names are the file stem or folder
// name, made unique with _2, _3, ... in input order so every shard agrees.
std::vector<Input> expand_inputs(const std::vector<std::string>& paths);

struct Shard {
  int index = 0;  // 0-based
  int count = 1;
};

// "i/n" with 0 <= i < n (kBadArgument naming the text otherwise).
Shard parse_shard(const std::string& text);

// Every count-th input starting at index: shard i/n of a Slurm array of n tasks.
std::vector<Input> select_shard(const std::vector<Input>& inputs, const Shard& shard);

}  // namespace starface::pipeline
