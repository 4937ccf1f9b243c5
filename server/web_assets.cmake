# Writes OUT, a C file holding every file of web/ that is served (FILES, a
# ;-list) as bytes with its MIME type and a content hash (the ETag and the
# ?v= of its URL). Run at build time by server/CMakeLists.txt whenever one
# of the files changes: the pages need no runtime file reads.
set(decls "")
set(rows "")
set(i 0)
foreach(f ${FILES})
  get_filename_component(name ${f} NAME)
  get_filename_component(ext ${f} LAST_EXT)
  if(ext STREQUAL ".css")
    set(mime "text/css; charset=utf-8")
  elseif(ext STREQUAL ".js")
    set(mime "text/javascript; charset=utf-8")
  elseif(ext STREQUAL ".svg")
    set(mime "image/svg+xml")
  else()
    message(FATAL_ERROR "web/${name}: no MIME type known for ${ext}")
  endif()
  file(READ ${f} hex HEX)
  string(LENGTH "${hex}" hexlen)
  math(EXPR len "${hexlen} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  file(SHA256 ${f} sum)
  string(SUBSTRING ${sum} 0 16 etag)
  string(APPEND decls "static const unsigned char asset${i}[] = {${bytes} 0};\n")
  string(APPEND rows "    {\"${name}\", \"${mime}\", \"\\\"${etag}\\\"\", asset${i}, ${len}},\n")
  math(EXPR i "${i} + 1")
endforeach()
file(WRITE ${OUT}.tmp
     "/* Generated from web/ by server/web_assets.cmake: do not edit. */\n"
     "#include <stddef.h>\n\n"
     "/* The same type as web.h's web_asset (kept apart so this file needs no\n"
     " * other header). */\n"
     "typedef struct {\n    const char *name, *mime, *etag;\n"
     "    const unsigned char *data;\n    size_t len;\n} web_asset;\n\n${decls}\nconst web_asset web_assets[] = {\n${rows}};\n"
     "const size_t web_nassets = ${i};\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
